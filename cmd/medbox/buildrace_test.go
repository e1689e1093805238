//go:build race

package main

// raceBuild tells whether these tests run with the race detector, so that the
// medbox binary they start is built the same way.
const raceBuild = true
