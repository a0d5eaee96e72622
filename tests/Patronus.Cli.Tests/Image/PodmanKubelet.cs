using System.Net;
using k8s.Models;
using Patronus.Cli.Lab.Nodes;

namespace Patronus.Cli.Tests.Image;

/// <summary>
/// What kubelet does with a DaemonSet's pod on one lab node, done with podman: init containers to completion, then the
/// containers, detached; a stop with the pod's grace period; readiness as its probe sees it. Container names carry the
/// lab's name (podman's names are machine-wide) and are recorded for the test's cleanup.
/// </summary>
internal sealed class PodmanKubelet(PatronusImage image, List<string> containers, string lab)
{
    public string Name(string container) => $"{container}-{lab}";

    /// <summary>One container of the pod, detached.</summary>
    public void Run(DeployedPod pod, V1PodSpec spec, V1Container container, string name)
    {
        containers.Add(Name(name));
        image.MustPodman(["run", .. pod.RunArguments(spec, container, Name(name), detached: true)]);
    }

    /// <summary>The pod's init containers to completion, then its one container, detached, as <paramref name="name"/>.</summary>
    public void StartPod(DeployedPod pod, V1PodSpec spec, string name)
    {
        foreach (var init in spec.InitContainers ?? [])
            image.MustPodman(["run", .. pod.RunArguments(spec, init, Name($"{init.Name}-{name}"), detached: false)]);
        Run(pod, spec, Assert.Single(spec.Containers), name);
    }

    public void Stop(string name, long graceSeconds) => image.MustPodman("rm", "-f", "-t", graceSeconds.ToString(), Name(name));

    /// <summary>A command in the container; its output and errors, whatever its exit code.</summary>
    public string Exec(string name, params string[] command)
    {
        var (_, output, error) = image.Podman(["exec", Name(name), .. command]);
        return output + error;
    }

    /// <summary>A command in the container that must succeed; its output.</summary>
    public string MustExec(string name, params string[] command) => image.MustPodman(["exec", Name(name), .. command]);

    public string Logs(string name)
    {
        var (_, output, error) = image.Podman("logs", Name(name));
        return output + error;
    }

    public string Inspect(string name, string format) => image.MustPodman("inspect", "--format", format, Name(name)).Trim();

    /// <summary>As kubelet's readiness probe, and kubelet's wait for a conflist: /readyz answers 200 and the file is there.</summary>
    public async Task WaitReady(string netns, IPAddress address, string name, string conflist)
    {
        using var http = new AgentHttp(netns, new IPEndPoint(address, 9402));
        var deadline = DateTime.UtcNow + AgentDaemon.ReadyTimeout;
        while (!await http.ReadyAsync(CancellationToken.None) || !File.Exists(conflist))
        {
            var state = image.Podman("inspect", "--format", "{{.State.Running}}", Name(name)).Output.Trim();
            if (state != "true" || DateTime.UtcNow > deadline)
                Assert.Fail($"{Name(name)} is not ready (running: {state}):\n{Logs(name)}");
            await Task.Delay(200);
        }
    }
}
