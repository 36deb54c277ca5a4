//! A small deterministic generator (xorshift) for made-up data: benchmarks fold the
//! same log every run, and the demo shows the same household every time.

pub struct Random(pub u64);

impl Random {
    // Not an `Iterator`: it never ends, and `Option`s would only clutter callers.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}
