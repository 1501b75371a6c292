for impl in pipevine 'async generator chain' 'Readable.map' 'p-map'; do for n in 1000000 5000000; do node --import tsx bench/memory-child.ts "$impl" $n; done; done
