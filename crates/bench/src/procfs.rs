//! Readings from `/proc`: a process's resident memory and CPU time, a core's busy time, the load average.

use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`; 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Resident memory of a process, in bytes: (VmRSS, RssAnon).
pub fn rss(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("RssAnon:").unwrap_or(0)))
}

/// User + system CPU time of a process (all its threads, living and ended), in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, i.e. 11 and 12 after the state (field 3).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Busy and total jiffies of one core (busy = user + nice + system + irq + softirq + steal), and its softirq part.
pub fn core_times(core: usize) -> Option<CoreTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{core} ");
    let line = stat.lines().find(|l| l.starts_with(&name))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let (user, nice, system, idle, iowait, irq, softirq, steal) = (
        *v.first()?,
        *v.get(1)?,
        *v.get(2)?,
        *v.get(3)?,
        *v.get(4)?,
        *v.get(5)?,
        *v.get(6)?,
        v.get(7).copied().unwrap_or(0),
    );
    let busy = user + nice + system + irq + softirq + steal;
    Some(CoreTimes { busy, total: busy + idle + iowait, softirq })
}

/// A core's jiffies at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct CoreTimes {
    pub busy: u64,
    pub total: u64,
    pub softirq: u64,
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0.0)
}

/// The kernel's slab memory (bytes), system-wide: socket structures live there, outside any process's RSS.
pub fn slab_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Slab:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU and wall-clock readings at the start of a phase, to report what the phase cost.
#[derive(Clone, Debug)]
pub struct Meter {
    started: Instant,
    server_pid: u32,
    server_cpu: f64,
    generator_pids: Vec<u32>,
    generator_cpu: f64,
    server_core: Option<(usize, CoreTimes)>,
    generator_core: Option<(usize, CoreTimes)>,
}

/// What a phase cost.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    pub seconds: f64,
    /// Server process CPU seconds (user + system).
    pub server_cpu: f64,
    /// Generator CPU seconds (every generator process).
    pub generator_cpu: f64,
    /// Share of the server's core that was busy (0..1), softirq included, whoever used it.
    pub server_core_busy: f64,
    pub server_core_softirq: f64,
    /// Share of the generator's core that was busy (0..1), whoever used it.
    pub generator_core_busy: f64,
}

impl Cost {
    /// Generator CPU as a share of one core.
    pub fn generator_load(&self) -> f64 {
        if self.seconds > 0.0 { self.generator_cpu / self.seconds } else { 0.0 }
    }

    pub fn server_load(&self) -> f64 {
        if self.seconds > 0.0 { self.server_cpu / self.seconds } else { 0.0 }
    }
}

fn total_cpu(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|p| cpu_seconds(*p)).sum()
}

impl Meter {
    pub fn start(server_pid: u32, generator_pids: Vec<u32>, cores: (Option<usize>, Option<usize>)) -> Meter {
        Meter {
            started: Instant::now(),
            server_pid,
            server_cpu: cpu_seconds(server_pid).unwrap_or(0.0),
            generator_cpu: total_cpu(&generator_pids),
            generator_pids,
            server_core: cores.0.and_then(|c| Some((c, core_times(c)?))),
            generator_core: cores.1.and_then(|c| Some((c, core_times(c)?))),
        }
    }

    pub fn stop(&self) -> Cost {
        let share = |before: &Option<(usize, CoreTimes)>| -> (f64, f64) {
            let Some((core, before)) = before else { return (0.0, 0.0) };
            let Some(now) = core_times(*core) else { return (0.0, 0.0) };
            let total = now.total.saturating_sub(before.total).max(1) as f64;
            (
                now.busy.saturating_sub(before.busy) as f64 / total,
                now.softirq.saturating_sub(before.softirq) as f64 / total,
            )
        };
        let (server_core_busy, server_core_softirq) = share(&self.server_core);
        let (generator_core_busy, _) = share(&self.generator_core);
        Cost {
            seconds: self.started.elapsed().as_secs_f64(),
            server_cpu: cpu_seconds(self.server_pid).unwrap_or(self.server_cpu) - self.server_cpu,
            generator_cpu: total_cpu(&self.generator_pids) - self.generator_cpu,
            server_core_busy,
            server_core_softirq,
            generator_core_busy,
        }
    }
}
