// Package e2e holds gatehouse's end-to-end tests and benchmarks: the built
// functions under the Lambda Runtime Interface Emulator, against a real
// S3-compatible server and an SNS emulator, with the review pages driven over
// HTTP as a reviewer (and a mail scanner) would. It has no non-test code.
package e2e
