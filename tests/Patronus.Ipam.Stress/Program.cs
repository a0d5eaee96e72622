using System.Diagnostics;
using System.Text.Json;
using Patronus.Cni.Ipam;
using Patronus.Cni.Spec;

// patronus-ipam-stress <ipam.json> <network> <mode> ...
//   add <containerId> <goFile>     print "ready", wait for goFile, allocate, print the addresses
//   del <containerId> <goFile>     print "ready", wait for goFile, release, print "released"
//   loop <prefix> <live>           allocate prefix-0, prefix-1, ... forever, releasing the one <live> behind;
//                                  prints "added <id>" after each allocation returns and "deleting <id>" before
//                                  each release, so a checker knows which attachments completed
//   bench <count>                  time count allocations then count releases
try
{
    using var document = JsonDocument.Parse(File.ReadAllText(args[0]));
    var ipam = new PatronusIpam(IpamConfig.Parse(document.RootElement, args[1]));
    switch (args[2])
    {
        case "add":
            WaitFor(args[4]);
            Console.WriteLine(string.Join(",", ipam.Allocate(args[3], "eth0", null).Addresses.Select(a => a.Address)));
            break;
        case "del":
            WaitFor(args[4]);
            ipam.Release(args[3], "eth0");
            Console.WriteLine("released");
            break;
        case "loop":
            var live = int.Parse(args[4]);
            Console.WriteLine("ready");
            for (var i = 0; ; i++)
            {
                ipam.Allocate($"{args[3]}-{i}", "eth0", null);
                Console.WriteLine($"added {args[3]}-{i}");
                if (i >= live)
                {
                    Console.WriteLine($"deleting {args[3]}-{i - live}");
                    ipam.Release($"{args[3]}-{i - live}", "eth0");
                }
            }
        case "bench":
            var count = int.Parse(args[3]);
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
                ipam.Allocate($"b{i}", "eth0", null);
            var add = clock.Elapsed.TotalMicroseconds / count;
            clock.Restart();
            for (var i = 0; i < count; i++)
                ipam.Release($"b{i}", "eth0");
            Console.WriteLine($"allocate {add:F1} us, release {clock.Elapsed.TotalMicroseconds / count:F1} us");
            break;
        default:
            Console.Error.WriteLine($"unknown mode {args[2]}");
            return 2;
    }
    return 0;
}
catch (CniException e)
{
    Console.WriteLine($"error {(int)e.Code} {e.Message}");
    return 1;
}

static void WaitFor(string goFile)
{
    Console.WriteLine("ready");
    while (!File.Exists(goFile))
        Thread.Sleep(1);
}
