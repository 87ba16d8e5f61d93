//! NS_GET_ID against inode reuse. Alone in its binary: it waits for the kernel to hand a freed
//! inode number out again, which namespaces created by parallel tests would take first.

mod common;

use common::{UtsThread, nstop, require_root};
use nstop::model::Model;
use nstop::model::sample::NsType;

fn nsid(ino: u64) -> Option<u64> {
    let (code, out, err) = nstop(&["snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let model: Model = serde_json::from_str(&out).unwrap();
    model
        .namespaces
        .iter()
        .find(|n| n.kind == NsType::Uts && n.ns == ino)
        .unwrap_or_else(|| panic!("uts:[{ino}] not listed"))
        .id
}

#[test]
fn nsid_tells_apart_namespaces_that_reuse_an_inode() {
    if !require_root() {
        return;
    }
    let first = UtsThread::start();
    let ino = first.ino;
    let first_id = nsid(ino);
    if !common::kernel_has_ns_get_id() {
        // Kernels before NS_GET_ID (6.1): no id at all, never one made up from the inode.
        assert_eq!(first_id, None);
        first.end();
        return;
    }
    let first_id = first_id.expect("NS_GET_ID on this kernel");
    first.end();

    // The kernel hands out the lowest free inode number: keep new namespaces alive until one
    // gets the freed number back.
    let mut alive = Vec::new();
    let reused = loop {
        let next = UtsThread::start();
        if next.ino == ino {
            break next;
        }
        alive.push(next);
        assert!(alive.len() < 300, "inode {ino} not reused");
    };
    let second_id = nsid(ino).expect("NS_GET_ID on this kernel");
    assert_ne!(
        first_id, second_id,
        "same inode {ino}, different namespaces"
    );
    reused.end();
    alive.into_iter().for_each(UtsThread::end);
}
