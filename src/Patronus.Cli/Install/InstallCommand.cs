using System.CommandLine;

namespace Patronus.Cli.Install;

/// <summary>
/// <c>patronus install --dry-run</c>: prints the manifests of deploy/ with the cluster's own values, for
/// <c>kubectl apply -f -</c> (this tool does not talk to the API server itself).
/// </summary>
internal static class InstallCommand
{
    public const int Success = 0;
    public const int BadInput = 1;

    public static Command Create()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the manifests instead of applying them (required: apply them with kubectl apply -f -)." };
        var clusterId = new Option<string>("--cluster-id") { Description = "The cluster's id in the cluster set (default cluster-1).", DefaultValueFactory = _ => "cluster-1" };
        var clusterCidr = new Option<string>("--cluster-cidr") { Description = "The pod range(s): one, or IPv4,IPv6 (default 10.244.0.0/16).", DefaultValueFactory = _ => "10.244.0.0/16" };
        var serviceCidr = new Option<string>("--service-cidr") { Description = "The service range(s): one, or IPv4,IPv6 (default 10.96.0.0/12).", DefaultValueFactory = _ => "10.96.0.0/12" };
        var remoteClusters = new Option<string?>("--remote-clusters") { Description = "A JSON file: the array of remote clusters for patronus-config (default none)." };
        var clusterSetKey = new Option<string?>("--cluster-set-key") { Description = "The cluster set's Ed25519 public key (base64, from patronus mesh new-set): turns the mesh on (default none)." };
        var image = new Option<string>("--image") { Description = $"The image every container runs (default {InstallValues.DefaultImage}, what scripts/build-image.sh builds).", DefaultValueFactory = _ => InstallValues.DefaultImage };
        var command = new Command("install", "Print the Patronus manifests (deploy/) with this cluster's values: patronus install --dry-run ... | kubectl apply -f -\n" +
            "Exit codes: 0 printed; 1 bad input (nothing printed).");
        foreach (var option in new Option[] { dryRun, clusterId, clusterCidr, serviceCidr, remoteClusters, clusterSetKey, image })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            if (!parse.GetValue(dryRun))
            {
                stderr.WriteLine("patronus install: only --dry-run is supported: patronus install --dry-run ... | kubectl apply -f -");
                return BadInput;
            }
            var remoteFile = parse.GetValue(remoteClusters);
            if (remoteFile is not null && !File.Exists(remoteFile))
            {
                stderr.WriteLine($"patronus install: --remote-clusters: {remoteFile} does not exist");
                return BadInput;
            }
            var values = new InstallValues
            {
                ClusterId = parse.GetValue(clusterId)!,
                ClusterCidrs = Split(parse.GetValue(clusterCidr)!),
                ServiceCidrs = Split(parse.GetValue(serviceCidr)!),
                RemoteClusters = remoteFile is null ? "[]" : File.ReadAllText(remoteFile),
                ClusterSetKey = parse.GetValue(clusterSetKey),
                Image = parse.GetValue(image)!,
            };
            try
            {
                stdout.Write(InstallManifests.Render(values));
                return Success;
            }
            catch (InstallValueException e)
            {
                stderr.WriteLine($"patronus install: {e.Message}");
                return BadInput;
            }
        });
        return command;
    }

    private static string[] Split(string value) => value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
