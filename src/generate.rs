//! `--generate`: the man page and the shell completions, made from the clap definition itself
//! so they can never disagree with `--help`. Packagers run e.g.
//! `synsweep --generate man > synsweep.1` and `synsweep --generate bash > synsweep.bash`.

use crate::cli::Cli;
use clap::{CommandFactory, ValueEnum};
use clap_complete::Shell;
use std::io;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// A man page (roff), section 1
    Man,
    Bash,
    Zsh,
    Fish,
    #[value(name = "powershell")]
    PowerShell,
    Elvish,
}

/// The man page or completion script, as bytes.
pub fn render(what: Generate) -> io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let shell = match what {
        Generate::Man => {
            clap_mangen::Man::new(cmd).render(&mut out)?;
            return Ok(out);
        }
        Generate::Bash => Shell::Bash,
        Generate::Zsh => Shell::Zsh,
        Generate::Fish => Shell::Fish,
        Generate::PowerShell => Shell::PowerShell,
        Generate::Elvish => Shell::Elvish,
    };
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(what: Generate) -> String {
        String::from_utf8(render(what).unwrap()).unwrap()
    }

    #[test]
    fn the_man_page_documents_the_options() {
        let man = text(Generate::Man);
        assert!(man.contains(".TH synsweep 1"), "{man}");
        // roff escapes the dashes of option names.
        for opt in ["rate", "resume", "output\\-xml", "banners", "generate"] {
            assert!(
                man.contains(&format!("\\-\\-{opt}")),
                "man page lacks --{opt}"
            );
        }
    }

    #[test]
    fn every_shell_completes_the_options() {
        for shell in [
            Generate::Bash,
            Generate::Zsh,
            Generate::Fish,
            Generate::PowerShell,
            Generate::Elvish,
        ] {
            let script = text(shell);
            assert!(script.contains("rate"), "{shell:?} completion lacks --rate");
        }
        assert!(text(Generate::Bash).contains("--rate"));
    }
}
