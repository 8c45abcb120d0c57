//! Wall-clock costs of the module's hot paths on the host, with criterion:
//! `cargo bench --bench hot_paths`.  Instruction counts, which do not
//! depend on the machine, come from benches/instructions.rs.
#![allow(missing_docs)]

mod cases;

use cases::{Appender, Lookup, SIZES, Stepper};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup");
    for n in SIZES {
        let mut l = Lookup::new(n);
        g.bench_with_input(BenchmarkId::new("hit", n), &n, |b, _| b.iter(|| l.hit()));
        g.bench_with_input(BenchmarkId::new("miss", n), &n, |b, _| b.iter(|| l.miss()));
        g.bench_with_input(BenchmarkId::new("miss-worst", n), &n, |b, _| {
            b.iter(|| l.worst_miss())
        });
    }
    g.finish();
}

fn step(c: &mut Criterion) {
    let mut s = Stepper::new();
    c.bench_function("step/mtf-exit", |b| b.iter(|| s.step()));
}

fn record(c: &mut Criterion) {
    let mut a = Appender::new();
    c.bench_function("record/append", |b| b.iter(|| a.append()));
}

criterion_group!(benches, lookup, step, record);
criterion_main!(benches);
