//! The master's static addresses and routes (`addresses`, `routes` in the configuration),
//! kept while the bond's job runs. Whatever speaks DHCP for the bond, its script may take
//! them away with a lease change (Debian's dhclient-script flushes every address of the
//! interface when the leased one changes, and the kernel drops the routes through them),
//! and so may anything else: the job hears every removal and puts back what is missing.

use anyhow::Result;

use crate::config::Bond;
use crate::kernel::Kernel;
use crate::lock;
use crate::net::IpNet;

/// Puts back the static addresses `index` (the master) lacks, then its static routes.
/// Failures are logged, not fatal: the job's work goes on without them.
pub fn restore(k: &mut Kernel, bond: &Bond, index: u32) {
    if bond.addresses.is_empty() && bond.routes.is_empty() {
        return;
    }
    if let Err(e) = restore_missing(k, bond, index) {
        crate::warn!(
            "{}: cannot restore its static configuration: {e:#}",
            bond.name
        );
    }
}

fn missing(k: &mut Kernel, bond: &Bond, index: u32) -> Result<Vec<IpNet>> {
    let have = k.addresses(index)?;
    Ok(bond
        .addresses
        .iter()
        .filter(|a| !have.contains(a))
        .cloned()
        .collect())
}

fn restore_missing(k: &mut Kernel, bond: &Bond, index: u32) -> Result<()> {
    let name = bond.name.as_str();
    let gone = missing(k, bond, index)?;
    // Nothing to put back: no lock (`hotbond down` holds it while it waits for the job).
    if gone.is_empty() && bond.routes.is_empty() {
        return Ok(());
    }
    // Routes go with their addresses, and one may be deleted alone: replacing them all is
    // harmless (the same route is not duplicated).
    let _guard = lock::lock_bond(name)?;
    // Again under the lock: a hook or `hotbond down` may have acted meanwhile.
    if k.link(name)?.is_none_or(|l| l.index != index) {
        return Ok(());
    }
    let gone: Vec<IpNet> = missing(k, bond, index)?
        .into_iter()
        .filter(|a| gone.contains(a))
        .collect();
    for a in &gone {
        k.add_address(index, a)?;
        crate::info!("{name}: static address {a} was removed: put back");
    }
    for r in &bond.routes {
        k.replace_route(index, r)?;
    }
    Ok(())
}
