//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of the real trace server: each
//! request takes the next scripted fault (what a flaky network or a dying server does to a
//! kiosk), then passes through untouched once the script is used up.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward, relay the answer.
    Pass,
    /// Answer 500 without forwarding (the server's database is down).
    Fail500,
    /// Forward (the server commits), then answer 500: the kiosk must resend, the server must
    /// keep one copy.
    CommitThen500,
    /// Forward, then hold the answer for this long (longer than the kiosk's timeout).
    Slow(Duration),
    /// Forward (the server commits), then close the connection with no answer: the server was
    /// killed after its commit, before it replied.
    CommitThenDrop,
    /// Forward half the request, then close both sides: the server was killed while reading.
    CutRequest,
}

pub struct FaultProxy {
    pub url: String,
    script: Arc<Mutex<VecDeque<Fault>>>,
    seen: Arc<Mutex<Vec<Fault>>>,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr, script: Vec<Fault>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (script.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (s, v) = (s.clone(), v.clone());
                std::thread::spawn(move || {
                    let _ = serve(client, upstream, &s, &v);
                });
            }
        });
        FaultProxy { url, script, seen }
    }

    /// Faults applied so far, in order (passes included).
    pub fn seen(&self) -> Vec<Fault> {
        self.seen.lock().unwrap().clone()
    }

    pub fn script_left(&self) -> usize {
        self.script.lock().unwrap().len()
    }
}

fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    script: &Mutex<VecDeque<Fault>>,
    seen: &Mutex<Vec<Fault>>,
) -> std::io::Result<()> {
    // One request per connection: the answer carries `connection: close`.
    let request = read_request(&mut client)?;
    let fault = script.lock().unwrap().pop_front().unwrap_or(Fault::Pass);
    seen.lock().unwrap().push(fault);
    match fault {
        Fault::Fail500 => {
            client
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")?;
        }
        Fault::CutRequest => {
            let mut up = TcpStream::connect(upstream)?;
            up.write_all(&request[..request.len() / 2])?;
            up.flush()?;
            std::thread::sleep(Duration::from_millis(50));
            // Dropping both streams resets them mid-request.
        }
        Fault::Pass | Fault::CommitThen500 | Fault::Slow(_) | Fault::CommitThenDrop => {
            let answer = forward(upstream, &request)?;
            match fault {
                Fault::CommitThen500 => client.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )?,
                Fault::CommitThenDrop => {}
                Fault::Slow(d) => {
                    std::thread::sleep(d);
                    let _ = client.write_all(&answer);
                }
                _ => client.write_all(&answer)?,
            }
        }
    }
    Ok(())
}

/// Reads one request: headers, then `content-length` bytes of body.
fn read_request(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    // Ask the server to close after answering, so its answer ends at EOF.
    let line_end = buf.windows(2).position(|w| w == b"\r\n").unwrap_or(0) + 2;
    buf.splice(line_end..line_end, b"connection: close\r\n".iter().copied());
    Ok(buf)
}

fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(request)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}
