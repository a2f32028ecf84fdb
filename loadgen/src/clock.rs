//! Time for an instrument that must send on time to the microsecond.
//!
//! `now_ns` reads CLOCK_MONOTONIC (the vDSO: tens of nanoseconds). `Alarm` is a
//! timerfd in the event loop, armed at an absolute time with nanosecond
//! resolution: the loop sleeps in epoll until shortly before the next intended
//! send, then spins the rest of the way (epoll's own millisecond timeout, and
//! tokio's timer wheel, are a thousand times too coarse). Timer slack is set to
//! 1 ns so the kernel does not postpone the wake-up to batch it with others.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

pub fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into a valid, owned timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CLOCK_REALTIME: the one clock generators on different hosts share (through NTP), for synchronised starts.
pub fn realtime_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into a valid, owned timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's timer slack: the kernel may delay a timer by up to this much (default 50 µs).
pub fn set_timer_slack_ns(ns: u64) {
    // SAFETY: prctl with PR_SET_TIMERSLACK and an integer argument has no memory effects.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, ns as libc::c_ulong, 0, 0, 0) };
}

/// Raise (negative) or lower this thread's scheduling priority; the niceness it really has afterwards.
pub fn set_nice(nice: i32) -> i32 {
    // SAFETY: setpriority/getpriority on this thread (who = 0) only change or read a number.
    unsafe {
        *libc::__errno_location() = 0;
        libc::setpriority(libc::PRIO_PROCESS, 0, nice);
        libc::getpriority(libc::PRIO_PROCESS, 0)
    }
}

/// CPU time of the whole process: (user, system) in nanoseconds.
pub fn process_cpu_ns() -> (i64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into a valid, owned rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let ns = |t: libc::timeval| t.tv_sec * 1_000_000_000 + t.tv_usec * 1000;
    (ns(ru.ru_utime), ns(ru.ru_stime))
}

/// CPU time of the whole process (user + system), in seconds.
pub fn process_cpu_s() -> f64 {
    let (u, s) = process_cpu_ns();
    (u + s) as f64 / 1e9
}

pub struct Alarm {
    fd: RawFd,
}

impl Alarm {
    pub fn new() -> io::Result<Alarm> {
        // SAFETY: timerfd_create returns a new descriptor we own, or -1.
        let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Alarm { fd })
    }

    /// Ring at `at_ns` on CLOCK_MONOTONIC (once).
    pub fn arm_at(&self, at_ns: u64) {
        let spec = libc::itimerspec {
            it_interval: libc::timespec { tv_sec: 0, tv_nsec: 0 },
            it_value: libc::timespec { tv_sec: (at_ns / 1_000_000_000) as i64, tv_nsec: (at_ns % 1_000_000_000) as i64 },
        };
        // SAFETY: a valid descriptor and a valid itimerspec; the old value is not wanted.
        unsafe { libc::timerfd_settime(self.fd, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut()) };
    }

    /// Read the expiry count so the descriptor stops being readable.
    pub fn clear(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into an owned buffer; EAGAIN is fine.
        unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), 8) };
    }
}

impl AsRawFd for Alarm {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.fd) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_moves_forward() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a && a > 0);
    }

    #[test]
    fn alarm_rings_after_its_time_not_before() {
        set_timer_slack_ns(1);
        let alarm = Alarm::new().unwrap();
        let at = now_ns() + 2_000_000;
        alarm.arm_at(at);
        let mut fds = libc::pollfd { fd: alarm.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut fds, 1, 1000) };
        assert_eq!(n, 1);
        assert!(now_ns() >= at);
        alarm.clear();
    }
}
