import "../../src/index.js"; console.log(process.memoryUsage.rss()/2**20, process.resourceUsage().maxRSS/1024)
