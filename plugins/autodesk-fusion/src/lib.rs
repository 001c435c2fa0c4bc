//! The Autodesk Fusion integration (in progress).
