using System.Reflection;
using Fs.Core.Meta;

namespace Appliance.Tests.Admin;

/// <summary>
/// A metadata engine that forwards to a real one until told to fail: to throw (the engine refuses connections) or to
/// block its caller (the engine hangs, as SQLite does waiting on a lock). A real local SQLite file cannot be made
/// unreachable while it is open, so this is the one fault injected.
/// </summary>
public class FaultyMetaEngine : DispatchProxy
{
    private readonly ManualResetEventSlim _released = new(false);
    private IMetaEngine _inner = null!;

    public enum Fault
    {
        None,
        Refuse,
        Hang,
    }

    public Fault Current { get; set; }

    public static (IMetaEngine Engine, FaultyMetaEngine Control) Wrap(IMetaEngine inner)
    {
        var engine = Create<IMetaEngine, FaultyMetaEngine>();
        var control = (FaultyMetaEngine)(object)engine;
        control._inner = inner;
        return (engine, control);
    }

    /// <summary>Lets blocked callers go (they then fail) so a test leaves no thread behind.</summary>
    public void ReleaseHung() => _released.Set();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        // Round trips fail; the engine's own description and its disposal do not.
        if (!targetMethod.IsSpecialName && targetMethod.Name != nameof(IAsyncDisposable.DisposeAsync))
        {
            switch (Current)
            {
                case Fault.Refuse:
                    throw new IOException("connection refused");
                case Fault.Hang:
                    _released.Wait(TimeSpan.FromSeconds(30));
                    throw new IOException("timed out");
            }
        }
        return targetMethod.Invoke(_inner, BindingFlags.DoNotWrapExceptions, null, args, null);
    }
}
