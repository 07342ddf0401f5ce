//! Signature costs: one strict verification, and batches of verifications.
//! Run: `cargo bench -p crypto`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crypto::{verify_batch, BatchItem, Domain, SigningKey};
use rand::SeedableRng;

const DOMAIN: Domain = Domain {
    chain_id: "bench-chain",
    kind: "tx",
};

fn items(n: usize) -> Vec<BatchItem> {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    (0..n)
        .map(|i| {
            let key = SigningKey::generate_with(&mut rng);
            let payload = format!("transfer number {i} with some bytes of body");
            let sig = key.sign(DOMAIN, payload.as_bytes());
            BatchItem::new(key.public_key(), DOMAIN, payload.as_bytes(), sig)
        })
        .collect()
}

fn bench_single(c: &mut Criterion) {
    let key = SigningKey::from_seed([7; 32]);
    let sig = key.sign(DOMAIN, b"payload");
    c.bench_function("sign", |b| b.iter(|| key.sign(DOMAIN, b"payload")));
    c.bench_function("verify_strict_single", |b| {
        b.iter(|| key.public_key().verify(DOMAIN, b"payload", &sig).unwrap())
    });
}

fn bench_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_batch");
    for n in [64usize, 2000] {
        let batch = items(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &batch, |b, batch| {
            b.iter(|| assert!(verify_batch(batch).iter().all(|ok| *ok)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_single, bench_batch
}
criterion_main!(benches);
