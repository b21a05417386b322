#[ipc::named_mutex(name = "/lock")]
struct Lock;

fn main() {
    let _ = ipc::critical!(try Lock as g, timeout = std::time::Duration::from_secs(1) => { g.recovered() });
}
