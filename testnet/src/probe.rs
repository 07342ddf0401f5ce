//! A `/health` prober for tests that put nodes under attack or overload: it asks
//! every node in turn until told to stop and records, per node, how many answers it
//! got, the slowest, and the first failures (an error, or an answer slower than
//! allowed).

use node::client::{Client, Timeouts};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Failures kept per node.
const FAILURES_KEPT: usize = 5;

/// What the prober saw of one node.
#[derive(Debug, Default, Clone)]
pub struct HealthRecord {
    pub probes: u64,
    pub slowest: Duration,
    /// When and why a probe failed or took longer than allowed (the first few).
    pub failures: Vec<String>,
}

/// Asks each of `urls` for `/health` every `every` until `stop`; an answer slower
/// than `within` is a failure. One record per URL, in order.
pub fn probe_health(
    urls: &[String],
    within: Duration,
    every: Duration,
    stop: &AtomicBool,
) -> Vec<HealthRecord> {
    let timeouts = Timeouts {
        connect: within,
        call: within * 2,
    };
    let clients: Vec<Client> = urls
        .iter()
        .map(|url| Client::with_timeouts(url, timeouts))
        .collect();
    let mut records = vec![HealthRecord::default(); urls.len()];
    let start = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        for (client, record) in clients.iter().zip(&mut records) {
            let asked = Instant::now();
            let answer = client.health();
            let took = asked.elapsed();
            record.probes += 1;
            record.slowest = record.slowest.max(took);
            let failure = match answer {
                Err(e) => Some(format!("{e}")),
                Ok(_) if took > within => Some(format!("answered in {took:?}")),
                Ok(_) => None,
            };
            if let Some(failure) = failure {
                if record.failures.len() < FAILURES_KEPT {
                    let at = start.elapsed().as_secs_f64();
                    record.failures.push(format!("at {at:.1} s: {failure}"));
                }
            }
        }
        std::thread::sleep(every);
    }
    records
}
