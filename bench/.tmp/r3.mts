import "effect"; import "rxjs"; console.log(process.memoryUsage.rss()/2**20)
