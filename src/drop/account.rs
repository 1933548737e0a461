//! `--user NAME`: the account's uid and primary group from the password database
//! (getpwnam_r, as tcpdump's `-Z` does). A number is taken as a uid only if it names an account.

use super::Account;
use std::ffi::CString;

/// The account called `name`; an error line when there is none.
pub fn lookup(name: &str) -> Result<Account, String> {
    let no_such = || format!("--user {name}: no such user");
    let c = CString::new(name).map_err(|_| no_such())?;
    let mut buf = vec![0u8; 4096];
    loop {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives the use of pw's strings,
        // and only uid and gid (plain integers) are read from pw.
        let rc = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &mut pw,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match rc {
            0 if found.is_null() => return Err(no_such()),
            0 => {
                return Ok(Account {
                    uid: pw.pw_uid,
                    gid: pw.pw_gid,
                });
            }
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            e => {
                return Err(format!(
                    "--user {name}: cannot read the user database: {}",
                    std::io::Error::from_raw_os_error(e)
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_found_and_nonsense_is_not() {
        assert_eq!(lookup("root").unwrap().uid, 0);
        let e = lookup("no-such-user-synsweep").unwrap_err();
        assert_eq!(e, "--user no-such-user-synsweep: no such user");
        assert!(lookup("bad\0name").is_err());
    }
}
