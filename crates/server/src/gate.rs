//! Bounded counts of connections, in total and per client address: a [`Gate`] hands out [`Pass`]es while both bounds
//! allow, and a pass gives its place back when it is dropped.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Counts passes in total and per client address, each under its bound.
#[derive(Debug)]
pub(crate) struct Gate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    total_bound: usize,
    per_address_bound: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Which bound refused a pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// The gate holds as many passes as it allows in total.
    Total,
    /// The client's address holds as many passes as one address may.
    Address,
}

/// One counted connection; dropping it frees its place.
#[derive(Debug)]
pub(crate) struct Pass {
    inner: Arc<Inner>,
    address: IpAddr,
}

impl Gate {
    pub(crate) fn new(total_bound: usize, per_address_bound: usize) -> Gate {
        Gate { inner: Arc::new(Inner { total_bound, per_address_bound, counts: Mutex::default() }) }
    }

    /// A pass for a connection from `address`, or the bound that refuses it. An IPv4 address mapped into IPv6 counts
    /// as the IPv4 address.
    pub(crate) fn enter(&self, address: IpAddr) -> Result<Pass, Full> {
        let address = address.to_canonical();
        let mut counts = self.inner.counts.lock();
        if counts.total >= self.inner.total_bound {
            return Err(Full::Total);
        }
        let of_address = counts.by_address.entry(address).or_default();
        if *of_address >= self.inner.per_address_bound {
            return Err(Full::Address);
        }
        *of_address += 1;
        counts.total += 1;
        Ok(Pass { inner: self.inner.clone(), address })
    }

    /// Passes held now.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.inner.counts.lock().total
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut counts = self.inner.counts.lock();
        counts.total -= 1;
        if let Some(of_address) = counts.by_address.get_mut(&self.address) {
            *of_address -= 1;
            if *of_address == 0 {
                counts.by_address.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use super::{Full, Gate};

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    const C: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));

    #[test]
    fn bounds_hold_per_address_and_in_total_and_places_come_back() {
        let gate = Gate::new(3, 2);
        let a1 = gate.enter(A).unwrap();
        let _a2 = gate.enter(A).unwrap();
        assert_eq!(gate.enter(A).unwrap_err(), Full::Address);
        let _b = gate.enter(B).unwrap();
        assert_eq!(gate.enter(C).unwrap_err(), Full::Total);
        assert_eq!(gate.held(), 3);
        drop(a1);
        assert_eq!(gate.held(), 2);
        let _c = gate.enter(C).unwrap();
        assert_eq!(gate.enter(A).unwrap_err(), Full::Total);
    }

    #[test]
    fn an_ipv4_address_mapped_into_ipv6_is_the_same_address() {
        let gate = Gate::new(10, 1);
        let a = gate.enter(A).unwrap();
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
        assert_eq!(gate.enter(mapped).unwrap_err(), Full::Address);
        let _v6 = gate.enter(IpAddr::V6(Ipv6Addr::LOCALHOST)).unwrap();
        drop(a);
        assert_eq!(gate.inner.counts.lock().by_address.len(), 1, "an address with no pass is forgotten");
    }
}
