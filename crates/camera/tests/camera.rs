//! The desktop camera entry points on a machine that may have no camera.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "nokhwa")]
#[test]
fn listing_cameras_does_not_panic() {
    // A developer's laptop has a camera and CI has none: only the shape of
    // the answer is checked, never the count.
    match cds_camera::list_cameras() {
        Ok(cams) => {
            let mut indexes: Vec<u32> = cams.iter().map(|c| c.index).collect();
            indexes.sort_unstable();
            indexes.dedup();
            assert_eq!(indexes.len(), cams.len(), "duplicate indexes: {cams:?}");
        }
        Err(e) => assert!(
            ["unsupported", "device"].contains(&e.kind()),
            "unexpected error {e}"
        ),
    }
}

#[cfg(feature = "nokhwa")]
#[test]
fn opening_a_missing_camera_is_not_found() {
    match cds_camera::NokhwaCamera::open(4242) {
        Ok(cam) => panic!(
            "camera 4242 opened: {}",
            cds_camera::FrameSource::describe(&cam)
        ),
        Err(e) => assert_eq!(e.kind(), "not_found", "{e}"),
    }
}

#[cfg(not(feature = "nokhwa"))]
#[test]
fn without_nokhwa_listing_is_unsupported() {
    let e = cds_camera::list_cameras().unwrap_err();
    assert_eq!(e.kind(), "unsupported");
}
