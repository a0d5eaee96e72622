using System.Net;
using System.Text.Json;
using Patronus.Cni.Ipam;
using Patronus.Cni.Ipam.Store;

namespace Patronus.Cni.Tests.Ipam;

/// <summary>A throwaway data folder and a network config in it; the folder is removed afterwards.</summary>
internal sealed class IpamTestNetwork : IDisposable
{
    public IpamTestNetwork(string ipamJsonWithoutDataDir, string network = "testnet")
    {
        DataDir = Path.Combine(Path.GetTempPath(), "patronus-ipam-test-" + Guid.NewGuid().ToString("N"));
        var json = ipamJsonWithoutDataDir.TrimEnd().TrimEnd('}') + $",\"dataDir\":\"{DataDir}\"}}";
        Json = json;
        Network = network;
        using var document = JsonDocument.Parse(json);
        Config = IpamConfig.Parse(document.RootElement.Clone(), network);
    }

    public string DataDir { get; }

    public string Json { get; }

    public string Network { get; }

    public IpamConfig Config { get; }

    public PatronusIpam NewIpam() => new(Config);

    /// <summary>Address → owner of every claim on disk; fails on a torn claim.</summary>
    public Dictionary<IPAddress, (string ContainerId, string IfName)> Claims()
    {
        var claims = new Dictionary<IPAddress, (string, string)>();
        foreach (var (name, address, claim) in new AllocationStore(Config.NetworkDirectory).ReadAllClaims())
        {
            Assert.True(address is not null && claim.State == ClaimState.Owned, $"claim entry {name} is {claim.State}");
            claims.Add(address!, (claim.Owner!.Value.ContainerId, claim.Owner.Value.IfName));
        }
        return claims;
    }

    /// <summary>How many attachments have an intent (owner index entry) on disk.</summary>
    public int IndexFiles() =>
        new AllocationStore(Config.NetworkDirectory).ReadAllIntents().Select(i => i.Record?.Owner).Distinct().Count();

    public int IntentEntries() => new AllocationStore(Config.NetworkDirectory).ReadAllIntents().Count;

    public void Dispose()
    {
        if (Directory.Exists(DataDir))
            Directory.Delete(DataDir, recursive: true);
    }
}
