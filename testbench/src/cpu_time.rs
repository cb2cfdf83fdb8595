//! CPU time of the current thread or of another process, for the simulation-speed
//! figures of `bench`.
//!
//! On a shared machine the wall time of a simulation grows with everybody else's load;
//! the CPU time it was given grows much less, so the benchmark reports cycles per CPU
//! second (and the wall-clock figure next to it). POSIX clocks
//! (`CLOCK_THREAD_CPUTIME_ID`, `clock_getcpuclockid`), so `None` where they fail.

use std::time::Duration;

fn read(clock: libc::clockid_t) -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// CPU time the calling thread has used.
pub fn thread() -> Option<Duration> {
    read(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time process `pid` has used (all its threads), while it is alive or not yet reaped.
pub fn process(pid: u32) -> Option<Duration> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid, writable clockid_t.
    let rc = unsafe { libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) };
    if rc != 0 {
        return None;
    }
    read(clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_clock_advances_with_work_and_process_clock_reads() {
        let start = thread().expect("CLOCK_THREAD_CPUTIME_ID");
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let end = thread().expect("CLOCK_THREAD_CPUTIME_ID");
        assert!(end > start, "{start:?} -> {end:?} after work ({x})");
        let own = process(std::process::id()).expect("clock_getcpuclockid on self");
        assert!(
            own >= end - start,
            "process {own:?} < thread work {:?}",
            end - start
        );
    }
}
