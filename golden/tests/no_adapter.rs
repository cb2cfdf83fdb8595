//! What happens without a GPU adapter: fall back to the reference with a
//! message, or fail when `CI=true` / `GOLDEN_REQUIRE_GPU=1` demand the GPU.
//! Also checks the `XDG_RUNTIME_DIR` fix-up.
//!
//! This binary changes environment variables, so it holds a single test (test
//! binaries are separate processes; tests inside one run on threads).

use golden::{reference, Golden, GoldenError, REFERENCE_BACKEND_NAME};

#[test]
fn fallback_and_required_gpu() {
    // No adapter can exist for a backend this crate does not compile in
    // (wgpu is built without its GL backend).
    std::env::set_var("WGPU_BACKEND", "gl");
    std::env::remove_var("WGPU_ADAPTER_NAME");
    std::env::remove_var("XDG_RUNTIME_DIR");

    std::env::remove_var("CI");
    std::env::remove_var("GOLDEN_REQUIRE_GPU");
    let g = Golden::new().expect("without CI/GOLDEN_REQUIRE_GPU a missing adapter is not an error");
    assert!(!g.is_gpu());
    assert_eq!(g.backend_name(), REFERENCE_BACKEND_NAME);
    let (a, b) = ([1i8, -2, 3, -4, 5, -6], [7i8, 8, -9, 10, 11, -12]);
    assert_eq!(
        g.gemm_i8(&a, &b, 2, 3, 2).unwrap(),
        reference::gemm_i8(&a, &b, 2, 3, 2)
    );

    // The fix-up pointed XDG_RUNTIME_DIR at an existing directory.
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").expect("XDG_RUNTIME_DIR set by Golden::new");
    assert!(
        std::path::Path::new(&xdg).is_dir(),
        "{xdg:?} is not a directory"
    );

    std::env::set_var("GOLDEN_REQUIRE_GPU", "1");
    match Golden::new() {
        Err(GoldenError::NoGpu { why, .. }) => assert_eq!(why, "GOLDEN_REQUIRE_GPU=1"),
        other => panic!("expected NoGpu, got {other:?}"),
    }
    std::env::remove_var("GOLDEN_REQUIRE_GPU");

    std::env::set_var("CI", "true");
    let e = Golden::new().expect_err("CI=true requires the GPU");
    assert!(e.to_string().contains("CI=true"), "{e}");
}
