struct Plain;

fn main() {
    let _ = ipc::critical!(Plain => { 1 });
}
