//! Who a cgroup is, from its path alone: the container runtime and id, the Kubernetes pod and
//! QoS class, the systemd unit. Recognises the systemd and the cgroupfs drivers' layouts.

use serde::{Deserialize, Serialize};

use crate::model::kernel_text;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// docker, containerd, cri-o, podman, cri (a Kubernetes container of unknown runtime), lxc,
    /// machine (systemd-machined).
    pub runtime: String,
    /// The full container id, where the runtime names containers by id.
    pub id: Option<String>,
    /// The name, where the path carries one (lxc, machines).
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    pub uid: String,
    /// guaranteed, burstable or besteffort.
    pub qos: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub container: Option<Container>,
    /// The runtime's monitor of a container (conmon, the LXC monitor): not the container itself.
    pub monitor: Option<Container>,
    pub pod: Option<Pod>,
    /// The innermost systemd unit (service, scope or slice).
    pub unit: Option<String>,
}

impl Workload {
    /// What to call the cgroup in a table: runtime and short id, pod, or unit; `None` when
    /// nothing was recognised.
    pub fn label(&self) -> Option<String> {
        let pod = self
            .pod
            .as_ref()
            .map(|p| format!("pod {} {}", short(&p.uid, 8), p.qos));
        let name = |c: &Container, role: &str| {
            let what = c
                .name
                .as_deref()
                .or(c.id.as_deref().map(|id| short(id, 12)));
            format!("{}{role} {}", c.runtime, what.unwrap_or("?"))
        };
        let own = match (&self.container, &self.monitor) {
            (Some(c), _) => Some(name(c, "")),
            (None, Some(m)) if m.runtime == "lxc" => Some(name(m, " monitor")),
            (None, Some(m)) => Some(name(m, " conmon")),
            (None, None) => None,
        };
        match (own, pod) {
            (Some(own), Some(pod)) => Some(format!("{own} in {pod}")),
            (Some(own), None) => Some(own),
            (None, Some(pod)) => Some(pod),
            (None, None) => self.unit.clone(),
        }
    }
}

fn short(id: &str, len: usize) -> &str {
    id.get(..len).unwrap_or(id)
}

fn is_container_id(s: &str) -> bool {
    s.len() >= 12 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A container's cgroup `<prefix><id>`: `.scope` with the systemd driver, bare with cgroupfs.
fn scope_id<'a>(component: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = component.strip_prefix(prefix)?;
    let id = rest.strip_suffix(".scope").unwrap_or(rest);
    is_container_id(id).then_some(id)
}

/// A kubelet pod cgroup: `kubepods-burstable-pod<uid>.slice` (systemd driver, `_` for `-` in
/// the uid) or `pod<uid>` below `kubepods` (cgroupfs driver), with the QoS from the name or the
/// parent.
fn pod_of(component: &str, parent: Option<&str>, under_kubepods: bool) -> Option<Pod> {
    if let Some(rest) = component
        .strip_prefix("kubepods-")
        .and_then(|r| r.strip_suffix(".slice"))
    {
        let (qos, uid) = match rest.split_once("-pod") {
            Some((qos, uid)) => (qos, uid),
            None => ("guaranteed", rest.strip_prefix("pod")?),
        };
        return Some(Pod {
            uid: uid.replace('_', "-"),
            qos: qos.to_owned(),
        });
    }
    let uid = component.strip_prefix("pod").filter(|_| under_kubepods)?;
    if uid.len() < 8 || !uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return None;
    }
    let qos = parent
        .filter(|q| matches!(*q, "burstable" | "besteffort"))
        .unwrap_or("guaranteed");
    Some(Pod {
        uid: uid.to_owned(),
        qos: qos.to_owned(),
    })
}

fn container(runtime: &str, id: Option<&str>, name: Option<String>) -> Option<Container> {
    Some(Container {
        runtime: runtime.to_owned(),
        id: id.map(str::to_owned),
        name,
    })
}

/// Recognises a cgroup path; the innermost match of each kind wins.
pub fn recognise(path: &str) -> Workload {
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let mut workload = Workload::default();
    for (i, &c) in components.iter().enumerate() {
        let parent = i.checked_sub(1).map(|p| components[p]);
        let under_kubepods = components[..i].contains(&"kubepods");
        if let Some(pod) = pod_of(c, parent, under_kubepods) {
            workload.pod = Some(pod);
            continue;
        }
        let monitor = if let Some(id) = scope_id(c, "crio-conmon-") {
            container("cri-o", Some(id), None)
        } else if let Some(id) = scope_id(c, "libpod-conmon-") {
            container("podman", Some(id), None)
        } else {
            c.strip_prefix("lxc.monitor.")
                .and_then(|name| container("lxc", None, Some(name.to_owned())))
        };
        if monitor.is_some() {
            workload.monitor = monitor;
        }
        let found = if let Some(id) = scope_id(c, "docker-") {
            container("docker", Some(id), None)
        } else if let Some(id) = scope_id(c, "cri-containerd-") {
            container("containerd", Some(id), None)
        } else if let Some(id) = scope_id(c, "crio-") {
            container("cri-o", Some(id), None)
        } else if let Some(id) = scope_id(c, "libpod-") {
            container("podman", Some(id), None)
        } else if let Some(name) = c.strip_prefix("lxc.payload.") {
            container("lxc", None, Some(name.to_owned()))
        } else if let Some(name) = c
            .strip_prefix("machine-")
            .and_then(|n| n.strip_suffix(".scope"))
        {
            container("machine", None, Some(kernel_text::unescape_hex(name)))
        } else if is_container_id(c) {
            // cgroupfs driver: /docker/<id>, /kubepods/<qos>/pod<uid>/<id>, /lxc/<name> below.
            match parent {
                Some("docker") => container("docker", Some(c), None),
                _ if workload.pod.is_some() => container("cri", Some(c), None),
                _ => None,
            }
        } else if parent == Some("lxc") && i == 1 {
            container("lxc", None, Some(c.to_owned()))
        } else {
            None
        };
        if found.is_some() {
            workload.container = found;
        }
        if [".service", ".scope", ".slice"]
            .iter()
            .any(|suffix| c.ends_with(suffix))
        {
            workload.unit = Some(kernel_text::unescape_hex(c));
        }
    }
    workload
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789abcd";

    fn label(path: &str) -> Option<String> {
        recognise(path).label()
    }

    #[test]
    fn runtimes_under_systemd() {
        let w = recognise(&format!("/system.slice/docker-{ID}.scope"));
        assert_eq!(w.container.as_ref().unwrap().runtime, "docker");
        assert_eq!(w.container.unwrap().id.as_deref(), Some(ID));
        assert_eq!(
            label(&format!("/system.slice/docker-{ID}.scope")).as_deref(),
            Some("docker 3f2a1b2c3d4e")
        );
        assert_eq!(
            label(&format!("/machine.slice/libpod-{ID}.scope/container")).as_deref(),
            Some("podman 3f2a1b2c3d4e")
        );
        assert_eq!(
            label("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope").as_deref(),
            Some("machine qemu-1-vm")
        );
        assert_eq!(label("/lxc.payload.web1").as_deref(), Some("lxc web1"));
        assert_eq!(label("/lxc/web2").as_deref(), Some("lxc web2"));
        assert_eq!(
            label("/system.slice/sshd.service").as_deref(),
            Some("sshd.service")
        );
        assert_eq!(
            label(&format!("/machine.slice/libpod-conmon-{ID}.scope")).as_deref(),
            Some("podman conmon 3f2a1b2c3d4e")
        );
        assert_eq!(
            label("/lxc.monitor.web1").as_deref(),
            Some("lxc monitor web1")
        );
        assert!(recognise("/lxc.monitor.web1").container.is_none());
        assert_eq!(label("/"), None);
        assert_eq!(label("/process_api/762cbace346e3b6cbfe48ff81638186d"), None);
    }

    #[test]
    fn kubernetes_pods_and_qos() {
        let w = recognise(&format!(
            "/kubepods.slice/kubepods-burstable.slice/\
             kubepods-burstable-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/cri-containerd-{ID}.scope"
        ));
        let pod = w.pod.clone().unwrap();
        assert_eq!(pod.uid, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
        assert_eq!(pod.qos, "burstable");
        assert_eq!(w.container.as_ref().unwrap().runtime, "containerd");
        assert_eq!(
            w.label().as_deref(),
            Some("containerd 3f2a1b2c3d4e in pod 0f1e2d3c burstable")
        );
        let guaranteed = recognise("/kubepods.slice/kubepods-pod0f1e2d3c_4b5a.slice");
        assert_eq!(guaranteed.pod.unwrap().qos, "guaranteed");
        let cgroupfs = recognise(&format!("/kubepods/besteffort/pod0f1e2d3c-4b5a/{ID}"));
        assert_eq!(cgroupfs.pod.as_ref().unwrap().qos, "besteffort");
        assert_eq!(cgroupfs.container.unwrap().runtime, "cri");
        assert_eq!(
            recognise("/kubepods/pod0f1e2d3c-4b5a").pod.unwrap().qos,
            "guaranteed"
        );
        assert_eq!(
            recognise(&format!("/docker/{ID}"))
                .container
                .unwrap()
                .runtime,
            "docker"
        );
        let crio = recognise(&format!("/kubepods.slice/crio-{ID}.scope"));
        assert_eq!(crio.container.unwrap().runtime, "cri-o");
        // cgroupfs drivers of CRI-O and podman: no .scope.
        let crio = recognise(&format!("/kubepods/burstable/pod0f1e2d3c-4b5a/crio-{ID}"));
        assert_eq!(crio.container.unwrap().runtime, "cri-o");
        let podman = recognise(&format!("/libpod_parent/libpod-{ID}"));
        assert_eq!(podman.container.unwrap().runtime, "podman");
        assert!(
            recognise("/pod-12345678").pod.is_none(),
            "pod<uid> only below kubepods"
        );
        assert_eq!(
            recognise("/system.slice/foo\\x40bar.service")
                .unit
                .as_deref(),
            Some("foo@bar.service")
        );
    }
}
