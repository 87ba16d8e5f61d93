//! Readers: the only code besides `ops/` that touches the kernel. Each takes a `Roots`.

pub mod detail;
pub mod mounts;
pub mod ns;
pub mod nsexec;
pub mod proc;
pub mod roots;
pub mod rtnetlink;
pub mod sockets;
pub mod users;

use crate::model::sample::Sample;
pub use roots::Roots;

/// One collection tick: processes, the other holders of namespaces, and one round of nsfs
/// ioctls per distinct namespace.
pub fn sample(roots: &Roots) -> std::io::Result<Sample> {
    let scan = proc::scan(roots)?;
    let mut held = scan.held;
    held.extend(mounts::nsfs_holders(roots, &scan.procs));
    let (socket_held, socket_ns) = sockets::socket_holders(roots, &scan.procs, &scan.sockets);
    held.extend(socket_held);
    let facts = ns::collect_facts(roots, &scan.procs, &held, socket_ns);
    held.extend(facts.ghosts);
    Ok(Sample {
        procs: scan.procs,
        held,
        ns_facts: facts.facts,
        denied: scan.denied,
        user_names: users::read_user_names(roots),
    })
}
