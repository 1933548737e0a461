//! AI/ML services behind an HTTP port: which product, which version, which models, and
//! whether it answered without credentials. Each product is recognised by an endpoint only
//! it serves, with the fields only it returns; a 401/403 on that endpoint says the product is
//! there but locked.

use super::http::Response;
use crate::event::AiInfo;
use serde_json::Value;

/// An HTTP GET on the service being identified (a fresh connection per request).
pub trait Fetch {
    fn get(&self, path: &str) -> impl Future<Output = Option<Response>> + Send;
}

/// The products to try, the one usually on `port` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Product {
    Ollama,
    OpenAi,
    Jupyter,
    Gradio,
    Streamlit,
    TensorBoard,
    MlFlow,
    Ray,
    ComfyUi,
    Triton,
}

const ALL: [Product; 10] = [
    Product::Ollama,
    Product::OpenAi,
    Product::Jupyter,
    Product::Gradio,
    Product::Streamlit,
    Product::TensorBoard,
    Product::MlFlow,
    Product::Ray,
    Product::ComfyUi,
    Product::Triton,
];

fn usual_port(p: Product) -> &'static [u16] {
    match p {
        Product::Ollama => &[11434],
        Product::OpenAi => &[8000, 8080, 1234, 5001, 4000, 30000, 9997, 2242, 1337],
        Product::Jupyter => &[8888],
        Product::Gradio => &[7860, 7861],
        Product::Streamlit => &[8501],
        Product::TensorBoard => &[6006],
        Product::MlFlow => &[5000],
        Product::Ray => &[8265],
        Product::ComfyUi => &[8188],
        Product::Triton => &[8000, 8002],
    }
}

/// Words in a root page that make a product worth asking about on any port.
fn hint(p: Product) -> &'static str {
    match p {
        Product::Ollama => "ollama",
        Product::OpenAi => "openai",
        Product::Jupyter => "jupyter",
        Product::Gradio => "gradio",
        Product::Streamlit => "streamlit",
        Product::TensorBoard => "tensorboard",
        Product::MlFlow => "mlflow",
        Product::Ray => "ray dashboard",
        Product::ComfyUi => "comfyui",
        Product::Triton => "triton",
    }
}

/// Is the service on `port`, whose root answered `root`, worth asking? (AI ports always; any
/// other HTTP port when its root page names a product.)
pub fn worth_asking(port: u16, root: &Response) -> bool {
    ALL.iter()
        .any(|&p| usual_port(p).contains(&port) || root.body_contains(hint(p)))
        || crate::ports::presets::AI_PORTS
            .iter()
            .any(|(p, _)| *p == port)
}

pub async fn detect<F: Fetch>(f: &F, port: u16, root: &Response) -> Option<AiInfo> {
    let likely = |p: &Product| usual_port(*p).contains(&port) || root.body_contains(hint(*p));
    let order = ALL
        .iter()
        .filter(|p| likely(p))
        .chain(ALL.iter().filter(|p| !likely(p)));
    for p in order {
        let found = match *p {
            Product::Ollama => ollama(f).await,
            Product::OpenAi => openai(f).await,
            Product::Jupyter => jupyter(f).await,
            Product::Gradio => gradio(f).await,
            Product::Streamlit => streamlit(f).await,
            Product::TensorBoard => tensorboard(f).await,
            Product::MlFlow => mlflow(f).await,
            Product::Ray => ray(f).await,
            Product::ComfyUi => comfyui(f).await,
            Product::Triton => triton(f).await,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

fn info(product: &str, version: Option<String>, models: Vec<String>, open: bool) -> AiInfo {
    AiInfo {
        product: product.into(),
        version,
        models,
        open_access: open,
    }
}

fn locked(r: &Response) -> bool {
    matches!(r.status, 401 | 403)
}

fn text(v: &Value, key: &str) -> Option<String> {
    // Control characters never reach a terminal or a document.
    let clean = |s: &str| s.chars().filter(|c| !c.is_control()).take(64).collect();
    v.get(key)?.as_str().map(clean)
}

/// Up to 100 names from `v[list][*][key]`.
fn names(v: &Value, list: &str, key: &str) -> Vec<String> {
    v.get(list)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|m| text(m, key)).take(100).collect())
        .unwrap_or_default()
}

/// Ollama: `/api/version` is `{"version": …}` and `/api/tags` lists the installed models.
async fn ollama<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/api/version").await?;
    let version = text(&v.json()?, "version")?;
    let tags = f.get("/api/tags").await?;
    if locked(&tags) {
        return Some(info("ollama", Some(version), vec![], false));
    }
    let tags = tags.json()?;
    tags.get("models")?.as_array()?;
    Some(info(
        "ollama",
        Some(version),
        names(&tags, "models", "name"),
        true,
    ))
}

/// OpenAI-compatible servers: `/v1/models` is `{"object": "list", "data": [{"id", "owned_by"}]}`;
/// `owned_by` names the server (vLLM, llama.cpp, …); TGI adds `/info`.
async fn openai<F: Fetch>(f: &F) -> Option<AiInfo> {
    let r = f.get("/v1/models").await?;
    if locked(&r) {
        return Some(info("openai-compatible", None, vec![], false));
    }
    let v = r.json()?;
    v.get("data")?.as_array()?;
    let models = names(&v, "data", "id");
    let owner = v
        .get("data")
        .and_then(|d| d.get(0))
        .and_then(|m| text(m, "owned_by"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    let product = match owner.as_str() {
        "vllm" => "vllm",
        "llamacpp" => "llama.cpp",
        "organization_owner" | "lmstudio" => "lm-studio",
        "localai" => "localai",
        "tgi" | "text-generation-inference" => "tgi",
        _ => "openai-compatible",
    };
    let version = match product {
        "vllm" | "localai" => f
            .get("/version")
            .await
            .and_then(|r| r.json())
            .and_then(|v| text(&v, "version")),
        "tgi" => f
            .get("/info")
            .await
            .and_then(|r| r.json())
            .and_then(|v| text(&v, "version")),
        _ => None,
    };
    Some(info(product, version, models, true))
}

/// Jupyter: `/api` is `{"version": …}`; `/api/kernels` needs the token unless it was turned off.
async fn jupyter<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/api").await?.json()?;
    let version = text(&v, "version")?;
    if v.as_object()?.len() != 1 {
        return None; // Jupyter's /api says only its version
    }
    let kernels = f.get("/api/kernels").await?;
    let open = kernels.status == 200 && kernels.json().is_some_and(|k| k.is_array());
    Some(info("jupyter", Some(version), vec![], open))
}

/// Gradio: `/config` holds the app's `version` and its `components`.
async fn gradio<F: Fetch>(f: &F) -> Option<AiInfo> {
    let r = f.get("/config").await?;
    let v = r.json()?;
    v.get("components")?;
    Some(info("gradio", text(&v, "version"), vec![], !locked(&r)))
}

/// Streamlit: `/_stcore/health` answers `ok`.
async fn streamlit<F: Fetch>(f: &F) -> Option<AiInfo> {
    let r = f.get("/_stcore/health").await?;
    (r.status == 200 && r.body.trim_ascii() == b"ok").then(|| info("streamlit", None, vec![], true))
}

/// TensorBoard: `/data/environment` tells its data location (and version).
async fn tensorboard<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/data/environment").await?.json()?;
    v.get("data_location")?;
    Some(info("tensorboard", text(&v, "version"), vec![], true))
}

/// MLflow: the tracking API searches experiments; `/version` is its version as text.
async fn mlflow<F: Fetch>(f: &F) -> Option<AiInfo> {
    let r = f
        .get("/api/2.0/mlflow/experiments/search?max_results=1")
        .await?;
    let open = if locked(&r) {
        false
    } else {
        r.json()?.as_object()?;
        true
    };
    let version = f
        .get("/version")
        .await
        .filter(|r| r.status == 200)
        .map(|r| super::text::printable(r.body.trim_ascii(), 32));
    Some(info("mlflow", version, vec![], open))
}

/// Ray's dashboard: `/api/version` has `ray_version`.
async fn ray<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/api/version").await?.json()?;
    let version = text(&v, "ray_version")?;
    Some(info("ray", Some(version), vec![], true))
}

/// ComfyUI: `/system_stats` has `system.comfyui_version`.
async fn comfyui<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/system_stats").await?.json()?;
    let version = v.get("system").and_then(|s| text(s, "comfyui_version"));
    v.get("system")?;
    Some(info("comfyui", version, vec![], true))
}

/// Triton: `/v2` is the server's metadata, `{"name": "triton", "version": …}`.
async fn triton<F: Fetch>(f: &F) -> Option<AiInfo> {
    let v = f.get("/v2").await?.json()?;
    (text(&v, "name")? == "triton").then(|| info("triton", text(&v, "version"), vec![], true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A scripted service: path → (status, body).
    struct Script(HashMap<&'static str, (u16, &'static str)>);

    impl Fetch for Script {
        async fn get(&self, path: &str) -> Option<Response> {
            let (status, body) = self.0.get(path).copied().unwrap_or((404, "not found"));
            Some(Response {
                status,
                headers: vec![],
                body: body.as_bytes().to_vec(),
            })
        }
    }

    fn root(body: &str) -> Response {
        Response {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    fn run(port: u16, paths: &[(&'static str, u16, &'static str)]) -> Option<AiInfo> {
        let s = Script(paths.iter().map(|&(p, c, b)| (p, (c, b))).collect());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(detect(&s, port, &root("")))
    }

    #[test]
    fn products_are_told_apart_by_what_they_serve() {
        let ollama = run(
            11434,
            &[
                ("/api/version", 200, r#"{"version":"0.5.7"}"#),
                (
                    "/api/tags",
                    200,
                    r#"{"models":[{"name":"llama3.2:1b"},{"name":"qwen2.5:7b"}]}"#,
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            ollama,
            info(
                "ollama",
                Some("0.5.7".into()),
                vec!["llama3.2:1b".into(), "qwen2.5:7b".into()],
                true
            )
        );
        let vllm = run(8000, &[
            ("/v1/models", 200, r#"{"object":"list","data":[{"id":"meta-llama/Llama-3.1-8B","owned_by":"vllm"}]}"#),
            ("/version", 200, r#"{"version":"0.6.3"}"#),
        ]).unwrap();
        assert_eq!(
            (vllm.product.as_str(), vllm.version.as_deref()),
            ("vllm", Some("0.6.3"))
        );
        assert_eq!(vllm.models, vec!["meta-llama/Llama-3.1-8B"]);
        let locked = run(8080, &[("/v1/models", 401, r#"{"error":"unauthorized"}"#)]).unwrap();
        assert_eq!(locked, info("openai-compatible", None, vec![], false));
        let jupyter = run(
            8888,
            &[
                ("/api", 200, r#"{"version":"2.14.2"}"#),
                ("/api/kernels", 403, ""),
            ],
        )
        .unwrap();
        assert_eq!(
            jupyter,
            info("jupyter", Some("2.14.2".into()), vec![], false)
        );
        let open_jupyter = run(
            8888,
            &[
                ("/api", 200, r#"{"version":"2.14.2"}"#),
                ("/api/kernels", 200, "[]"),
            ],
        )
        .unwrap();
        assert!(open_jupyter.open_access);
        let ray = run(
            8265,
            &[(
                "/api/version",
                200,
                r#"{"ray_version":"2.40.0","version":"4"}"#,
            )],
        )
        .unwrap();
        assert_eq!(ray.product, "ray", "Ray's /api/version is not Ollama's");
        let triton = run(
            8000,
            &[("/v2", 200, r#"{"name":"triton","version":"2.51.0"}"#)],
        )
        .unwrap();
        assert_eq!(
            (triton.product.as_str(), triton.version.as_deref()),
            ("triton", Some("2.51.0"))
        );
        let comfy = run(
            8188,
            &[(
                "/system_stats",
                200,
                r#"{"system":{"comfyui_version":"0.3.10"}}"#,
            )],
        )
        .unwrap();
        assert_eq!(comfy.version.as_deref(), Some("0.3.10"));
        assert_eq!(
            run(
                7860,
                &[("/config", 200, r#"{"version":"5.9.1","components":[]}"#)]
            )
            .unwrap()
            .product,
            "gradio"
        );
        assert_eq!(
            run(8501, &[("/_stcore/health", 200, "ok")])
                .unwrap()
                .product,
            "streamlit"
        );
        assert_eq!(
            run(
                6006,
                &[(
                    "/data/environment",
                    200,
                    r#"{"data_location":"/logs","version":"2.18.0"}"#
                )]
            )
            .unwrap()
            .product,
            "tensorboard"
        );
        assert_eq!(
            run(
                5000,
                &[
                    (
                        "/api/2.0/mlflow/experiments/search?max_results=1",
                        200,
                        r#"{"experiments":[]}"#
                    ),
                    ("/version", 200, "2.19.0")
                ]
            )
            .unwrap()
            .version
            .as_deref(),
            Some("2.19.0")
        );
        // A plain web server is nothing of the kind.
        assert_eq!(run(8080, &[("/", 200, "<html>hello</html>")]), None);
    }

    #[test]
    fn only_ai_ports_or_named_products_are_asked() {
        assert!(worth_asking(11434, &root("")));
        assert!(!worth_asking(80, &root("<title>Welcome to nginx</title>")));
        assert!(worth_asking(80, &root("<title>JupyterLab</title>")));
    }

    /// Every path answers with the same JSON document, built from the keys the detectors
    /// read, holding hostile values: long strings, control and bidi characters, thousands
    /// of models, wrong types. (128 cases: each builds deep documents, and the rest of
    /// the suite shares two cores.)
    struct Hostile(u16, String);

    impl Fetch for Hostile {
        async fn get(&self, _path: &str) -> Option<Response> {
            Some(Response {
                status: self.0,
                headers: vec![],
                body: self.1.clone().into_bytes(),
            })
        }
    }

    fn hostile_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just("\u{1b}[2J\u{202e}evil\u{7}".to_string()),
            "[ -~]{0,10}",
            "\\PC{0,200}",
            any::<String>(),
        ];
        let leaf = prop_oneof![
            text.clone().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
            Just(Value::from("triton")),
            Just(Value::from("vllm")),
        ];
        let keys = proptest::sample::select(vec![
            "version",
            "models",
            "data",
            "name",
            "id",
            "owned_by",
            "components",
            "system",
            "comfyui_version",
            "ray_version",
            "data_location",
            "object",
        ]);
        leaf.prop_recursive(3, 64, 8, move |inner| {
            prop_oneof![
                (inner.clone(), 0usize..300).prop_map(|(v, n)| Value::Array(vec![v; n])),
                proptest::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| {
                    Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                }),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::soak_cases(128)))]
        #[test]
        fn hostile_json_gives_bounded_answers(
            doc in hostile_json(),
            status in proptest::sample::select(vec![200u16, 401, 403, 500]),
            port in proptest::sample::select(vec![11434u16, 8000, 8888, 7860, 5000, 8265, 8188, 80]),
        ) {
            let f = Hostile(status, doc.to_string());
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            if let Some(ai) = rt.block_on(detect(&f, port, &root(""))) {
                proptest::prop_assert!(ai.models.len() <= 100);
                for s in ai.models.iter().chain(&ai.version) {
                    proptest::prop_assert!(s.chars().count() <= 64);
                    proptest::prop_assert!(!s.chars().any(char::is_control));
                }
            }
        }
    }
}
