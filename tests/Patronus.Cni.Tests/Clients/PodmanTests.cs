using Patronus.Cni.Tests.Binary;
using Patronus.Cni.Tests.Kernel;

namespace Patronus.Cni.Tests.Clients;

/// <summary>
/// A real CNI client: podman (CNI backend, through libcni) runs containers on a patronus-cni network inside a
/// node namespace, chained with the reference portmap and bandwidth plugins. Podman's config, storage, image
/// and CNI config all live in a temporary folder (CONTAINERS_CONF, --root, --runroot, network_config_dir).
/// </summary>
[Collection("kernel")]
public sealed class PodmanTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "pcni-podman-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly TestNetns node = new("pnode");

    public PodmanTests()
    {
        foreach (var sub in new[] { "net.d", "plugins", "root", "runroot", "img/bin", "ipam", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
        }

        File.CreateSymbolicLink(Path.Combine(dir, "plugins/patronus-cni"), Plugin.Path);
        File.Copy("/bin/busybox", Path.Combine(dir, "img/bin/busybox"));
        foreach (var applet in new[] { "sh", "ip", "ping", "wget", "httpd", "mkdir", "echo", "sleep" })
        {
            File.CreateSymbolicLink(Path.Combine(dir, "img/bin", applet), "busybox");
        }

        File.WriteAllText(Path.Combine(dir, "containers.conf"), $"""
            [containers]
            default_ulimits = ["nproc=1024:1024", "nofile=1024:1024"]
            [network]
            network_backend = "cni"
            cni_plugin_dirs = ["{dir}/plugins", "/usr/lib/cni"]
            network_config_dir = "{dir}/net.d"
            [engine]
            runtime = "runc"
            cgroup_manager = "cgroupfs"
            events_logger = "file"
            tmp_dir = "{dir}/tmp"
            """);
        // Debian's reference plugins speak up to CNI 1.0.0, so the conflist does too.
        File.WriteAllText(Path.Combine(dir, "net.d/pcni-podnet.conflist"), $$$"""
            {"cniVersion":"1.0.0","name":"pcni-podnet","plugins":[
              {"type":"patronus-cni","bridge":"pcnipod0","isGateway":true,"isDefaultGateway":true,
               "ipam":{"type":"patronus-ipam","dataDir":"{{{dir}}}/ipam","ranges":[[{"subnet":"10.233.0.0/24"}]]}},
              {"type":"portmap","capabilities":{"portMappings":true}},
              {"type":"bandwidth","capabilities":{"bandwidth":true}}]}
            """);
        Shell.Must("tar", "-C", Path.Combine(dir, "img"), "-cf", Path.Combine(dir, "img.tar"), ".");
        Podman("import", Path.Combine(dir, "img.tar"), "localhost/pcni-busybox:latest");
    }

    private string Podman(params string[] args)
    {
        var (code, output) = PodmanRun(args);
        Assert.True(code == 0, $"podman {string.Join(' ', args)} failed: {output}");
        return output;
    }

    private (int, string) PodmanRun(params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo("nsenter",
            [$"--net={node.Path}", "podman", "--root", $"{dir}/root", "--runroot", $"{dir}/runroot", "--storage-driver", "vfs", .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["CONTAINERS_CONF"] = Path.Combine(dir, "containers.conf");
        using var p = System.Diagnostics.Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    [Fact]
    public void Podman_ContainerGetsItsAddress_ReachesAnotherContainer_PortmapChained_NothingLeftAfterRemoval()
    {
        Podman("run", "-d", "--name", "pcni-srv", "--network", "pcni-podnet", "-p", "18080:8080", "localhost/pcni-busybox:latest",
            "/bin/sh", "-c", "mkdir -p /www && echo hello-pcni > /www/index.html && httpd -f -p 8080 -h /www");
        var serverIp = Podman("inspect", "pcni-srv", "--format", "{{(index .NetworkSettings.Networks \"pcni-podnet\").IPAddress}}").Trim();
        Assert.StartsWith("10.233.0.", serverIp);
        Assert.Contains("pcnipod0", node.Links());

        // The client's own address, and the server reached over the bridge.
        var client = Podman("run", "--rm", "--network", "pcni-podnet", "localhost/pcni-busybox:latest", "/bin/sh", "-c",
            $"ip -4 addr show eth0; for i in 1 2 3 4 5; do wget -qO- http://{serverIp}:8080/ && break; sleep 1; done");
        Assert.Contains("inet 10.233.0.", client);
        Assert.Contains("hello-pcni", client);

        // portmap, chained after patronus-cni, forwards the node's port 18080 to the server.
        var viaPortmap = Shell.Run("ip", "netns", "exec", node.Name, "/bin/busybox", "wget", "-qO-", "http://10.233.0.1:18080/");
        Assert.Contains("hello-pcni", viaPortmap.Output);

        Podman("rm", "-f", "-t", "0", "pcni-srv");
        Assert.DoesNotContain(" pat", node.Links());
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "ipam/pcni-podnet/addresses")));
    }

    public void Dispose()
    {
        PodmanRun("rm", "-a", "-f", "-t", "0");
        PodmanRun("rmi", "-a", "-f");
        node.Dispose();
        Shell.Run("sh", "-c", $"grep -o ' {dir}[^ ]*' /proc/mounts | xargs -r -n1 umount -l");
        Directory.Delete(dir, recursive: true);
    }
}
