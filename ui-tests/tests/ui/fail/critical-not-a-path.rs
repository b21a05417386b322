fn main() {
    let _ = ipc::critical!(42 => { 1 });
}
