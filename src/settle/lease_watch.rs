//! The lease of an external DHCP client (dhclient, dhcpcd, udhcpc), for the event hooks: its
//! script runs in another process and tells the job nothing, so the job reads the lease from
//! the kernel ([`crate::dispatch::observed`]) when the bond's IPv4 addresses or routes change.
//! A script sets the address, then the route: the job looks once they have been quiet for a
//! moment, so that one lease is one `lease` event with its gateway.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::config::Bond;
use crate::dispatch::{self, observed};
use crate::kernel::{Kernel, Wake};
use crate::net::Mac;

/// How long the bond's IPv4 state must be quiet before the job looks: a script's address and
/// route come a few milliseconds apart (tens under emulation).
const QUIET: Duration = Duration::from_millis(100);

#[derive(Default)]
pub struct LeaseWatch {
    /// When to look.
    due: Option<Instant>,
    /// The addresses set on the bond since the last look.
    set: Vec<Ipv4Addr>,
    /// The lease's address and the MAC it was granted to, as last seen.
    granted: Option<(Ipv4Addr, Mac)>,
}

impl LeaseWatch {
    /// Notes what a wake says of the bond (`index`): a change to its IPv4 addresses or
    /// routes puts the next look [`QUIET`] from now.
    pub fn heard(&mut self, wake: &Wake, index: Option<u32>, now: Instant) {
        let Some(i) = index else { return };
        if wake.ipv4_changed(i) {
            self.due = Some(now + QUIET);
        }
        self.set.extend(
            wake.ipv4_set
                .iter()
                .filter(|(x, _)| *x == i)
                .map(|(_, a)| *a),
        );
    }

    /// When the job must wake to look, if a look is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.due
    }

    /// Looks at the bond's lease if it is time, and tells the hooks' dispatcher. `client` is
    /// the MAC the external client runs with; None (no external client runs) looks at
    /// nothing.
    pub fn look(
        &mut self,
        k: &mut Kernel,
        bond: &Bond,
        index: Option<u32>,
        client: Option<Mac>,
        now: Instant,
    ) -> Result<()> {
        if self.due.is_none_or(|d| d > now) {
            return Ok(());
        }
        self.due = None;
        let set = std::mem::take(&mut self.set);
        let (Some(i), Some(client)) = (index, client) else {
            return Ok(());
        };
        let addrs = k.ipv4_addresses(i)?;
        let routes = k.default_routes(i)?;
        let dns = crate::dns::recorded_servers(&bond.name)
            .into_iter()
            .filter_map(|s| match s {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        let before = self.granted;
        let lease = observed::lease(&addrs, &bond.addresses, &routes, dns, |a| {
            observed::granted_to(before, &set, a, client)
        });
        self.granted = lease.as_ref().map(|l| (l.address, l.mac));
        dispatch::observed(lease);
        Ok(())
    }
}
