//! The book shows the 6.1 kernel's runs and says the other pinned kernels
//! print the same: checked here, on the recorded VM-lab snapshots.

use nlbook_common::programs::{LAB_KERNELS, lab_program_output};

#[test]
fn every_pinned_kernel_prints_the_same() {
    for test in ["acks", "dumps", "buffers"] {
        let reference = lab_program_output("ch12-request-response", test, "6.1");
        assert!(reference.contains("1. "), "{test}: {reference}");
        for kernel in LAB_KERNELS {
            assert_eq!(
                lab_program_output("ch12-request-response", test, kernel),
                reference,
                "{test}: kernel {kernel} differs from 6.1"
            );
        }
    }
}
