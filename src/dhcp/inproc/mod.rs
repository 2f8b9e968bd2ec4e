//! The built-in DHCP client ([`crate::dhcp::builtin`]) as the bond job's [`Supervisor`]:
//! the client runs inside the job, so a failover costs no process start, and the job
//! holds the lease. What the lease means for the kernel is in [`configure`], the lease
//! file in [`store`].
//!
//! Stopping: the job's unit stops it with SIGKILL, which must unconfigure nothing (the
//! kernel expires the address by its lifetimes if nobody renews it). `hotbond down`
//! instead sends the job SIGTERM ([`crate::dhcp::supervise::release`]): the job then has
//! the client send DHCPRELEASE ([`Supervisor::end`]), removes what the lease configured,
//! forgets the lease and ends cleanly.

mod configure;
pub mod store;

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::builtin::{boot_time, Action, BootTime, Builtin, Config, Lease, Link, State};
use super::supervise::{decide, DhcpAction, Progress, SettledOn, Supervisor};
use crate::config::Bond;
use crate::kernel::{self, Kernel};
use crate::net::IfName;
use crate::state::{self, BuiltinRecord, DhcpRecord};

/// The job also wakes this often while the client runs: poll's clock stops while the
/// laptop sleeps, the lease's does not.
const LOOK_AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// The client's name in the job's records.
pub const NAME: &str = "builtin";

pub struct Inproc {
    bond: String,
    name: IfName,
    /// `dhcp.dns`: hand the lease's DNS to the system.
    dns: bool,
    config: Config,
    metric: u32,
    use_mtu: bool,
    client: Builtin,
    /// What the client speaks for; None before the bond settled and after it went.
    on: Option<SettledOn>,
    /// The lease this job put on the bond, and the MAC it was granted to.
    configured: Option<(Lease, String)>,
    /// Actions the client returned outside a turn (no kernel at hand then).
    pending: Vec<Action>,
    recorded: Option<DhcpRecord>,
    /// The job's own pid, start time and executable, as its record names the client: read
    /// once, not on every turn.
    own: Option<crate::process::Identity>,
}

impl Inproc {
    pub fn new(bond: &Bond) -> Result<Inproc> {
        let opts = super::options(bond)?;
        let mut config = Config::new(bond.name.as_str());
        config.client_id = opts.client_id;
        config.hostname = opts.hostname;
        config.max_message_size = message_size(kernel::link_mtu(bond.name.as_str()));
        // A laptop's network comes and goes: ask again soon, as the external clients are
        // told to (dhclient: initial-interval 1, backoff-cutoff 4).
        config.first_retransmit = Duration::from_secs(1);
        config.max_retransmit = Duration::from_secs(4);
        config.renew_after = std::env::var("HOTBOND_DHCP_RENEW_AFTER_S")
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs);
        Ok(Inproc {
            bond: bond.name.to_string(),
            name: bond.name.clone(),
            dns: bond.dhcp.dns,
            client: Builtin::new(config.clone()),
            config,
            metric: bond.dhcp.route_metric,
            use_mtu: bond.dhcp.use_mtu,
            on: None,
            configured: None,
            pending: Vec::new(),
            recorded: None,
            own: crate::process::Identity::own(),
        })
    }

    /// Carries out the client's actions on the bond `index`.
    fn carry_out(&mut self, k: &mut Kernel, actions: Vec<Action>) -> Result<()> {
        let Some(on) = self.on.clone() else {
            return Ok(());
        };
        for a in actions {
            match a {
                Action::Apply(l) | Action::Renew(l) => self.put(k, on.index, &on, l)?,
                Action::Remove(l) => {
                    crate::info!("{}: DHCP lease of {} gone", self.bond, l.address);
                    configure::remove(k, &self.bond, on.index, &l, self.metric);
                    self.configured = None;
                    hand_dns(&self.name, self.dns, None);
                    store::forget(&self.bond);
                    crate::dispatch::lease_lost();
                }
                Action::Persist(l) => {
                    if let Err(e) = store::save(&self.bond, &l) {
                        crate::warn!("{}: {e:#}", self.bond);
                    }
                }
            }
        }
        Ok(())
    }

    /// Puts a granted (or renewed) lease on the bond.
    fn put(&mut self, k: &mut Kernel, index: u32, on: &SettledOn, l: Lease) -> Result<()> {
        let old = self.configured.take().map(|(l, _)| l);
        if old.as_ref().map(|o| o.address) != Some(l.address) {
            crate::info!(
                "{}: DHCP lease {}/{} from {} for {} s",
                self.bond,
                l.address,
                l.prefix_len,
                l.server,
                l.lifetime_secs(boot_time())
            );
        }
        configure::apply(k, &self.bond, index, old.as_ref(), &l, self.metric)?;
        if let Some(mtu) = l.mtu.filter(|_| self.use_mtu) {
            if let Err(e) = k.set_mtu(index, u32::from(mtu)) {
                crate::warn!("{}: {e:#}", self.bond);
            }
        }
        let dns = configure::dns_of(&l);
        if old.as_ref().map(configure::dns_of) != Some(dns.clone()) {
            hand_dns(&self.name, self.dns, Some(&dns));
        }
        crate::dispatch::leased(&l, on.mac);
        self.configured = Some((l, on.mac.to_string()));
        Ok(())
    }

    /// The job ends (`hotbond down`): release the lease, unconfigure it, forget it.
    fn release_and_end(&mut self, k: &mut Kernel) -> Result<()> {
        crate::info!("{}: asked to release the DHCP lease", self.bond);
        let actions = self.client.release();
        if k.link(&self.bond)?.is_some() {
            self.carry_out(k, actions)?;
        }
        if let Some((l, _)) = self.configured.take() {
            if let Some(on) = &self.on {
                configure::remove(k, &self.bond, on.index, &l, self.metric);
            }
        }
        hand_dns(&self.name, self.dns, None);
        store::forget(&self.bond);
        crate::dispatch::lease_lost();
        self.record();
        Ok(())
    }

    /// Keeps the job's record up to date for `hotbond status`; written when it changes.
    fn record(&mut self) {
        let Some(on) = &self.on else { return };
        // The client is the job itself, named completely as any client is.
        let own = self.own.clone();
        let rec = DhcpRecord {
            client: NAME.to_string(),
            mac: on.mac.to_string(),
            pid: Some(std::process::id() as i32),
            start_time: own.as_ref().map(|i| i.start_time),
            exe: own.map(|i| i.exe),
            updated_unix_ms: 0,
            builtin: Some(builtin_record(
                self.client.state(),
                self.configured.as_ref(),
                boot_time(),
                state::now_ms(),
            )),
        };
        if self.recorded.as_ref() == Some(&rec) {
            return;
        }
        let stamped = DhcpRecord {
            updated_unix_ms: state::now_ms(),
            ..rec.clone()
        };
        match state::write_dhcp(&self.bond, &stamped) {
            Ok(()) => self.recorded = Some(rec),
            Err(e) => crate::warn!("{}: {e:#}", self.bond),
        }
    }
}

impl Supervisor for Inproc {
    fn settles_under_lock(&self) -> bool {
        false
    }

    fn settled(&mut self, on: &SettledOn) -> Result<DhcpAction> {
        let action = decide(self.on.as_ref(), on);
        let link = Link {
            ifindex: on.index,
            mac: on.mac,
        };
        match action {
            // The client sends before anything is logged: a log line costs a context switch
            // to the logger, the request is what the address waits for.
            DhcpAction::Started => {
                let remembered = store::load(&self.bond);
                let asked = remembered.as_ref().map(|l| l.address);
                self.on = Some(on.clone());
                let fx = self.client.start(link, remembered);
                self.pending.extend(fx);
                if let Some(a) = asked {
                    crate::info!("{}: asking again for {a}", self.bond);
                }
            }
            DhcpAction::Reacquired => {
                self.on = Some(on.clone());
                let fx = self.client.link_changed(link);
                self.pending.extend(fx);
                crate::info!(
                    "{}: the bond now has {}: asked again for the lease from it",
                    self.bond,
                    on.mac
                );
            }
            DhcpAction::Kept | DhcpAction::Nothing => {}
        }
        // No record yet: the turn that follows at once sends first, then records.
        Ok(action)
    }

    fn confirm(&mut self) -> Result<()> {
        if self.on.is_some() {
            crate::info!("{}: asked to confirm the DHCP lease now", self.bond);
            let fx = self.client.confirm();
            self.pending.extend(fx);
        }
        Ok(())
    }

    fn bond_is(&mut self, index: Option<u32>) {
        if self.on.as_ref().is_some_and(|on| Some(on.index) != index) {
            // The interface is gone (maybe made again, another interface): its address
            // went with it. Stop speaking, drop the sockets, release nothing; the lease
            // file stays for the next interface to ask for the same address.
            crate::info!(
                "{}: the bond is gone or new: the DHCP client stops",
                self.bond
            );
            self.client = Builtin::new(self.config.clone());
            self.on = None;
            if self.configured.take().is_some() {
                hand_dns(&self.name, self.dns, None);
            }
            self.pending.clear();
        }
    }

    fn wait_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.client.fds()
    }

    fn deadline(&self) -> Option<Instant> {
        if !self.pending.is_empty() {
            return Some(Instant::now());
        }
        self.on.as_ref()?;
        let next = match self.client.deadline() {
            Some(at) => to_instant(at, boot_time(), Instant::now()),
            None => Instant::now() + LOOK_AT_LEAST_EVERY,
        };
        Some(next.min(Instant::now() + LOOK_AT_LEAST_EVERY))
    }

    fn end(&mut self, k: &mut Kernel) -> Result<()> {
        self.release_and_end(k)
    }

    fn turn(&mut self, k: &mut Kernel, _now: Instant) -> Result<Progress> {
        let mut actions = std::mem::take(&mut self.pending);
        if self.on.is_some() {
            actions.extend(self.client.turn());
        }
        let r = self.carry_out(k, actions);
        // The address is on: now the socket the client gave up may take its time to close.
        self.client.close_retired();
        self.record();
        r.map(|()| Progress::Running)
    }
}

/// The max DHCP message size (option 57) the bond's MTU allows: what fits in one frame,
/// at least RFC 2131's 576.
fn message_size(mtu: Option<u32>) -> u16 {
    mtu.map_or(1500, |m| m.clamp(576, u32::from(u16::MAX)) as u16)
}

/// A point on the boot-time clock as an [`Instant`], from the two clocks' `now`s.
fn to_instant(at: BootTime, boot_now: BootTime, now: Instant) -> Instant {
    now + at.since(boot_now)
}

fn builtin_record(
    st: State,
    configured: Option<&(Lease, String)>,
    boot_now: BootTime,
    wall_now: u64,
) -> BuiltinRecord {
    let wall = |at: BootTime| -> u64 {
        // Whole seconds, so that the record changes only when the lease does.
        let ms = if at >= boot_now {
            wall_now + at.since(boot_now).as_millis() as u64
        } else {
            wall_now.saturating_sub(boot_now.since(at).as_millis() as u64)
        };
        ms / 1000 * 1000
    };
    let lease = configured.map(|(l, _)| l);
    BuiltinRecord {
        state: st,
        address: lease.map(|l| format!("{}/{}", l.address, l.prefix_len)),
        server: lease.map(|l| l.server),
        lease_mac: configured.map(|(_, m)| m.clone()),
        expires_unix_ms: lease
            .filter(|l| !l.is_infinite())
            .map(|l| wall(l.expires())),
        renew_unix_ms: lease.map(|l| wall(l.renew_at())),
        rebind_unix_ms: lease.map(|l| wall(l.rebind_at())),
    }
}

/// Hands the lease's name servers and domains to the system's resolver ([`crate::dns`]),
/// or takes them back (None); nothing when the bond's `dhcp.dns` is off. A failure is
/// logged: names not resolving is no reason to give up the address.
fn hand_dns(bond: &IfName, enabled: bool, dns: Option<&(Vec<Ipv4Addr>, Vec<String>)>) {
    if !enabled {
        return;
    }
    let done = match dns {
        Some((servers, domains)) => {
            let servers: Vec<IpAddr> = servers.iter().map(|s| IpAddr::V4(*s)).collect();
            crate::dns::apply(bond, &servers, domains)
        }
        None => crate::dns::revert(bond),
    };
    if let Err(e) = done {
        crate::warn!("{bond}: {e:#}");
    }
}

/// No job holds the lease to release (for `hotbond down`): forgets it all the same, so
/// that the next start asks afresh.
pub fn forget(bond: &Bond) {
    crate::info!("{}: no job holds a lease, nothing to release", bond.name);
    store::forget(bond.name.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_and_sizes() {
        let now = Instant::now();
        let b = |s| BootTime(Duration::from_secs(s));
        assert_eq!(
            to_instant(b(110), b(100), now),
            now + Duration::from_secs(10)
        );
        // Past: now.
        assert_eq!(to_instant(b(90), b(100), now), now);
        assert_eq!(message_size(None), 1500);
        assert_eq!(message_size(Some(9000)), 9000);
        assert_eq!(message_size(Some(100)), 576);
    }
}
