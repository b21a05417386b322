#![deny(warnings)]
use std::time::Duration;

#[ipc::named_semaphore(name = "/ipc-ui.critical-forms", initial = 1)]
struct Lock;

fn with_return(x: i32) -> ipc::Result<i32> {
    ipc::critical!(Lock => {
        if x > 0 {
            return Ok(x);
        }
    })?;
    Ok(-1)
}

fn with_question_mark(s: &str) -> Result<i32, Box<dyn std::error::Error>> {
    let n = ipc::critical!(Lock => { s.parse::<i32>()? })?;
    Ok(n)
}

fn main() -> ipc::Result<()> {
    let a: ipc::Result<i32> = ipc::critical!(Lock => { 40 + 2 });
    assert_eq!(a?, 42);
    let b = ipc::critical!(Lock, timeout = Duration::from_millis(50) => { "timed" })?;
    assert_eq!(b, "timed");
    let c = ipc::critical!(try Lock => { vec![1, 2] })?;
    assert_eq!(c, [1, 2]);
    assert_eq!(with_return(5)?, 5);
    assert_eq!(with_return(-5)?, -1);
    assert!(with_question_mark("x").is_err());
    assert_eq!(with_question_mark("7").unwrap(), 7);
    let mut seen = Vec::new();
    for i in 0..6 {
        ipc::critical!(Lock => {
            if i == 1 {
                continue;
            }
            if i == 4 {
                break;
            }
            seen.push(i);
        })?;
    }
    assert_eq!(seen, [0, 2, 3]);
    // Every way out released the semaphore.
    assert_eq!(Lock::semaphore()?.value()?, 1);
    Lock::unlink()
}
