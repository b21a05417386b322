//! The 2018-edition expansion compiles and runs.

#[test]
fn all_forms_from_2018() {
    assert_eq!(ui_tests_2018::all_forms().unwrap(), 6);
    assert_eq!(
        ui_tests_2018::Lock2018::semaphore()
            .unwrap()
            .value()
            .unwrap(),
        1
    );
    ui_tests_2018::Lock2018::unlink().unwrap();
}

#[test]
fn typed_forms_from_2018() {
    assert_eq!(ui_tests_2018::typed_forms().unwrap(), 2);
}
