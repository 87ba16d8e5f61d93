//! User names from `passwd` under the roots (what lsns's USER column shows).

use std::collections::HashMap;
use std::fs;

use crate::sys::roots::Roots;

/// `name:password:uid:...` lines; malformed lines are skipped. The first entry for a UID wins,
/// as with getpwuid.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if let Ok(uid) = uid.parse() {
            names.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    names
}

/// A missing or unreadable passwd leaves names empty: the UID column still stands.
pub fn read_user_names(roots: &Roots) -> HashMap<u32, String> {
    fs::read_to_string(roots.etc.join("passwd"))
        .map(|text| parse_passwd(&text))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_debian_passwd_lines() {
        let names = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\
             nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
             broken line\n\
             toor:x:0:0::/root:/bin/sh\n",
        );
        assert_eq!(names[&0], "root");
        assert_eq!(names[&65534], "nobody");
        assert_eq!(names.len(), 2);
    }
}
