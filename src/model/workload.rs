//! Who a cgroup is, from its path: the container runtime and id, the Kubernetes pod and QoS
//! class, the systemd unit. Recognises the systemd and the cgroupfs drivers' layouts. The name
//! a user gave a container is not in the path: `Workload::name_from` adds it from what the
//! runtimes keep on the host (read by `sys::runtimes`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::kernel_text;
use crate::model::sample::ContainerName;
use crate::text::printable;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// docker, containerd, cri-o, podman, cri (a Kubernetes container of unknown runtime), lxc,
    /// machine (systemd-machined).
    pub runtime: String,
    /// The full container id, where the runtime names containers by id.
    pub id: Option<String>,
    /// The name: from the path where it carries one (lxc, machines), else the one the runtime
    /// keeps for the id (`podman run --name web`), when it could be read.
    pub name: Option<String>,
    /// Where the name came from when the runtime's state said it (`docker
    /// /var/lib/docker/containers/<id>/config.v2.json`); absent when the path gave it or none
    /// is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_source: Option<String>,
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
    /// What to call the cgroup wherever it is shown (the cg table's WORKLOAD, the explorer, OOM
    /// events): runtime, then name and short id (`podman web (7166873bbcec)`) or whichever of
    /// them is known, then the pod; else the unit; `None` when nothing was recognised. Names
    /// are host text: control and bidirectional-formatting characters come out as `\xHH`.
    pub fn label(&self) -> Option<String> {
        let pod = self
            .pod
            .as_ref()
            .map(|p| format!("pod {} {}", short(&p.uid, 8), p.qos));
        let name = |c: &Container, role: &str| {
            let what = match (c.name.as_deref(), c.id.as_deref()) {
                (Some(name), Some(id)) => format!("{name} ({})", short(id, 12)),
                (Some(name), None) => name.to_owned(),
                (None, Some(id)) => short(id, 12).to_owned(),
                (None, None) => "?".to_owned(),
            };
            format!("{}{role} {what}", c.runtime)
        };
        let own = match (&self.container, &self.monitor) {
            (Some(c), _) => Some(name(c, "")),
            (None, Some(m)) if m.runtime == "lxc" => Some(name(m, " monitor")),
            (None, Some(m)) => Some(name(m, " conmon")),
            (None, None) => None,
        };
        let label = match (own, pod) {
            (Some(own), Some(pod)) => format!("{own} in {pod}"),
            (Some(own), None) => own,
            (None, Some(pod)) => pod,
            (None, None) => self.unit.clone()?,
        };
        Some(match printable(&label) {
            Cow::Borrowed(_) => label,
            Cow::Owned(escaped) => escaped,
        })
    }

    /// Names the container and its monitor by their ids, from what the runtimes keep on the
    /// host (`names` by full id); a name the path gave stays.
    pub fn name_from(&mut self, names: &HashMap<String, ContainerName>) {
        for c in [&mut self.container, &mut self.monitor]
            .into_iter()
            .flatten()
        {
            if c.name.is_some() {
                continue;
            }
            if let Some(known) = c.id.as_ref().and_then(|id| names.get(id)) {
                c.name = Some(known.name.clone());
                c.name_source = Some(known.source.clone());
            }
        }
    }

    /// Whether anything was recognised.
    pub fn is_empty(&self) -> bool {
        *self == Workload::default()
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
        name_source: None,
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

    fn known(id: &str, name: &str) -> HashMap<String, ContainerName> {
        HashMap::from([(
            id.to_owned(),
            ContainerName {
                name: name.to_owned(),
                source: "containers/storage /var/lib/containers/storage/overlay-containers/containers.json"
                    .to_owned(),
            },
        )])
    }

    #[test]
    fn named_by_what_the_runtime_keeps() {
        let names = known(ID, "web");
        let mut w = recognise(&format!("/machine.slice/libpod-{ID}.scope/container"));
        w.name_from(&names);
        let c = w.container.as_ref().unwrap();
        assert_eq!(c.name.as_deref(), Some("web"));
        assert!(
            c.name_source
                .as_deref()
                .unwrap()
                .ends_with("/containers.json")
        );
        assert_eq!(w.label().as_deref(), Some("podman web (3f2a1b2c3d4e)"));
        // The monitor of the same container.
        let mut m = recognise(&format!("/machine.slice/libpod-conmon-{ID}.scope"));
        m.name_from(&names);
        assert_eq!(
            m.label().as_deref(),
            Some("podman conmon web (3f2a1b2c3d4e)")
        );
        // With the pod.
        let mut k = recognise(&format!(
            "/kubepods.slice/kubepods-burstable.slice/\
             kubepods-burstable-pod0f1e2d3c_4b5a.slice/cri-containerd-{ID}.scope"
        ));
        k.name_from(&known(ID, "default/cache-0/redis"));
        assert_eq!(
            k.label().as_deref(),
            Some("containerd default/cache-0/redis (3f2a1b2c3d4e) in pod 0f1e2d3c burstable")
        );
        // Another id, or a name the path gave: unchanged.
        let mut other = recognise(&format!("/system.slice/docker-{}.scope", &ID[1..]));
        other.name_from(&names);
        assert_eq!(other.container.unwrap().name, None);
        let mut lxc = recognise("/lxc.payload.web1");
        lxc.name_from(&names);
        assert_eq!(lxc.label().as_deref(), Some("lxc web1"));
        // Serialized without a source where there is none (old recordings read the same).
        let json = serde_json::to_string(&recognise("/lxc.payload.web1")).unwrap();
        assert!(!json.contains("name_source"), "{json}");
        let back: Workload = serde_json::from_str(&json).unwrap();
        assert_eq!(back, recognise("/lxc.payload.web1"));
    }

    #[test]
    fn names_are_shown_without_control_or_bidi_characters() {
        let mut w = recognise(&format!("/machine.slice/libpod-{ID}.scope"));
        w.name_from(&known(ID, "we\u{1b}[2Jb\u{202e}txt.exe\u{85}"));
        assert_eq!(
            w.label().as_deref(),
            Some("podman we\\x1b[2Jb\\xe2\\x80\\xaetxt.exe\\xc2\\x85 (3f2a1b2c3d4e)")
        );
        // The JSON keeps the name as the runtime wrote it.
        assert_eq!(
            w.container.unwrap().name.as_deref(),
            Some("we\u{1b}[2Jb\u{202e}txt.exe\u{85}")
        );
        let unit = recognise("/system.slice/evil\\x1b.service");
        assert_eq!(unit.label().as_deref(), Some("evil\\x1b.service"));
    }
}
