#[ipc::named_mutex(name = "/lock")]
struct Lock;

fn main() {
    let _ = ipc::critical!(Lock as => { 1 });
}
