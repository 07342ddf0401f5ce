//! The HTTP API (DESIGN.md sections 8 and 9). TEMPORARY STUB
pub mod types;
pub async fn serve(
    _shared: std::sync::Arc<crate::shared::Shared>,
    _listener: tokio::net::TcpListener,
    _shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    Ok(())
}
