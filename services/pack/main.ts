#!/usr/bin/env bun
console.log("weft-pack placeholder")
