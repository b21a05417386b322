#[ipc::named_mutex(name = "/app.lock")]
struct Lock;

fn main() {
    let guard = Lock::lock().unwrap();
    std::thread::spawn(move || drop(guard));
}
