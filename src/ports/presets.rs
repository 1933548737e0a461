//! Named port sets: `top100`, `top1000`, `all`, `ai`, and `--top-ports N`.

use crate::error::{Error, Result};
use crate::event::Proto;
use std::path::Path;

/// Ports of AI/ML services, with the name reported for them when IANA has none.
pub const AI_PORTS: &[(u16, &str)] = &[
    (1234, "lm-studio"),
    (1337, "jan"),
    (2242, "aphrodite"),
    (3000, "open-webui"),
    (3001, "anythingllm"),
    (4000, "litellm"),
    (5000, "mlflow"),
    (5001, "koboldcpp"),
    (6006, "tensorboard"),
    (6333, "qdrant"),
    (6334, "qdrant-grpc"),
    (7860, "gradio"),
    (7861, "gradio-alt"),
    (7997, "infinity-emb"),
    (8000, "vllm-openai"),
    (8001, "triton-grpc"),
    (8002, "triton-metrics"),
    (8080, "openai-compat"),
    (8081, "torchserve-mgmt"),
    (8188, "comfyui"),
    (8265, "ray-dashboard"),
    (8501, "streamlit"),
    (8787, "dask-dashboard"),
    (8888, "jupyter"),
    (9997, "xinference"),
    (11434, "ollama"),
    (19530, "milvus"),
    (30000, "sglang"),
];

const EMBEDDED_TOP_TCP: &str = include_str!("../../data/top-tcp-ports.txt");
const EMBEDDED_TOP_UDP: &str = include_str!("../../data/top-udp-ports.txt");
pub const NMAP_SERVICES: &str = "/usr/share/nmap/nmap-services";

/// The `n` ports of `proto` most often found open, most frequent first: from nmap's frequency
/// table at `nmap_services` when it is readable, else from the embedded top-1000 list.
pub fn top_ports(n: usize, proto: Proto, nmap_services: &Path) -> Result<Vec<u16>> {
    if n == 0 || n > 65535 {
        return Err(Error::BadOption(
            "--top-ports",
            format!("'{n}' is not in 1-65535"),
        ));
    }
    if let Ok(text) = std::fs::read_to_string(nmap_services) {
        let mut ranked = ranked_from_nmap_services(&text, proto);
        if ranked.len() >= n {
            ranked.truncate(n);
            return Ok(ranked);
        }
    }
    let embedded = match proto {
        Proto::Tcp => EMBEDDED_TOP_TCP,
        Proto::Udp => EMBEDDED_TOP_UDP,
    };
    let embedded: Vec<u16> = embedded
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    if n > embedded.len() {
        return Err(Error::BadOption(
            "--top-ports",
            format!(
                "'{n}' needs {NMAP_SERVICES}; without it at most {} are known",
                embedded.len()
            ),
        ));
    }
    Ok(embedded[..n].to_vec())
}

fn ranked_from_nmap_services(text: &str, want: Proto) -> Vec<u16> {
    let mut v: Vec<(f64, u16)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (port, proto) = f.nth(1)?.split_once('/')?;
            let freq: f64 = f.next()?.parse().ok()?;
            (proto == want.as_str()).then_some((freq, port.parse().ok()?))
        })
        .collect();
    v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_is_used_without_nmap() {
        let top = top_ports(10, Proto::Tcp, Path::new("/nonexistent")).unwrap();
        assert_eq!(top.len(), 10);
        assert_eq!(top[0], 80);
        assert!(top.contains(&443) && top.contains(&22));
        assert!(top_ports(1001, Proto::Tcp, Path::new("/nonexistent")).is_err());
        assert!(top_ports(0, Proto::Tcp, Path::new("/nonexistent")).is_err());
        let udp = top_ports(20, Proto::Udp, Path::new("/nonexistent")).unwrap();
        assert_eq!(&udp[..4], &[631, 161, 137, 123]);
        assert!(udp.contains(&53) && udp.contains(&1900) && !udp.contains(&80));
    }

    #[test]
    fn nmap_frequency_order_is_read() {
        let f = std::env::temp_dir().join(format!("synsweep-nmapsvc-{}", std::process::id()));
        std::fs::write(
            &f,
            "# c\nhttp\t80/tcp\t0.48\nssh\t22/tcp\t0.18\nx\t53/udp\t0.9\nt\t23/tcp\t0.2\n",
        )
        .unwrap();
        let top = top_ports(3, Proto::Tcp, &f).unwrap();
        let udp = top_ports(1, Proto::Udp, &f).unwrap();
        std::fs::remove_file(&f).ok();
        assert_eq!(top, vec![80, 23, 22]);
        assert_eq!(udp, vec![53]);
    }
}
