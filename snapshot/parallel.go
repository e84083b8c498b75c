package snapshot

import "sync"

// eachParallel runs item i of n on at most workers goroutines and returns
// the first error; the other items still run. newWorker is called once per
// goroutine and returns its function, so a worker can keep state of its own
// (a read buffer). It is the one worker pool of the package: hashing files,
// writing objects and fsyncing paths all go through it.
func eachParallel(n, workers int, newWorker func() func(i int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	ch := make(chan int)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for i := range ch {
				if err := work(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		ch <- i
	}
	close(ch)
	wg.Wait()
	return first
}
