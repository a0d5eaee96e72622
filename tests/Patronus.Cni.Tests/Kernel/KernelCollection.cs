namespace Patronus.Cni.Tests.Kernel;

/// <summary>Kernel tests run one at a time: the machine has two cores shared with other work.</summary>
[CollectionDefinition("kernel", DisableParallelization = true)]
public class KernelCollection;
