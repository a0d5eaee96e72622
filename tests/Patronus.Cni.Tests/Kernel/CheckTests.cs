using System.Text.Json;

namespace Patronus.Cni.Tests.Kernel;

/// <summary>CHECK reports each missing piece of the attachment.</summary>
[Collection("kernel")]
public class CheckTests
{
    public static TheoryData<string, int, string> Breakages => new()
    {
        // what to break (shell, with {pod} {node} {host}), expected code, message fragment
        { "ip -n {pod} link del eth0", 3, "interface \"eth0\" is missing" },
        { "ip -n {pod} link set eth0 down", 100, "interface \"eth0\" in /var/run/netns/" },
        { "ip -n {pod} addr del 10.231.0.2/24 dev eth0", 100, "address 10.231.0.2/24 is missing" },
        { "ip -n {pod} -6 addr del fd00:231::2/64 dev eth0", 100, "address fd00:231::2/64 is missing" },
        { "ip -n {pod} route del default", 100, "route to 0.0.0.0/0 via 10.231.0.1 is missing" },
        { "ip -n {pod} -6 route del default", 100, "route to ::/0 via fd00:231::1 is missing" },
        { "ip -n {node} link set {host} nomaster", 100, "is not a port of bridge" },
        { "rm -rf {data}", 100, "holds no address" },
        { "ip netns del {pod}", 3, "does not exist" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void Check_AfterBreakage_ReportsWhatIsMissing(string breakage, int code, string message)
    {
        using var node = new Node();
        var pod = node.NewPod();
        var result = node.Add("pcni-check", pod);
        var host = result.GetProperty("interfaces")[1].GetProperty("name").GetString()!;
        var command = breakage.Replace("{pod}", pod.Name).Replace("{node}", node.Ns.Name).Replace("{host}", host)
            .Replace("{data}", Path.Combine(node.DataDir, "pcni-net"));
        Shell.Must("sh", "-c", command);

        var check = node.Invoke("CHECK", "pcni-check", pod.Path, conf: node.WithPrevResult(result));
        Assert.True(check.ExitCode != 0, $"CHECK passed after \"{command}\"");
        Assert.Equal(code, check.ErrorCode);
        Assert.Contains(message, check.Message);
        node.Del("pcni-check", pod.Path);
    }

    [Fact]
    public void Check_WithoutPrevResult_IsAConfigError()
    {
        using var node = new Node(subnet6: null);
        var pod = node.NewPod();
        node.Add("pcni-check2", pod);
        var check = node.Invoke("CHECK", "pcni-check2", pod.Path);
        Assert.Equal(7, check.ErrorCode);
        Assert.Contains("prevResult is required", check.Message);
        node.Del("pcni-check2", pod.Path);
    }
}
