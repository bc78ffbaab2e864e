using Microsoft.Extensions.DependencyInjection;

namespace Jex.UserCode;

/// <summary>
/// An optional hook for a user assembly to register its own services. The runtime creates each
/// public, non-abstract class implementing it (with a parameterless constructor) once, at load,
/// before any function runs.
/// </summary>
/// <remarks>
/// The services form a container of the user code's own, separate from the runtime's, built once.
/// Instance functions get their constructor arguments from it. <see cref="Microsoft.Extensions.Logging.ILogger{TCategoryName}"/>
/// is available in it and writes to the runtime's log (not forwarded to the member: use
/// <see cref="IJexContext.Logger"/> for that). An exception here fails the runtime's start with
/// the assembly and the exception named.
/// </remarks>
public interface IJexStartup
{
    /// <summary>Registers the user code's services.</summary>
    /// <param name="services">The user code's own service collection.</param>
    void ConfigureServices(IServiceCollection services);
}
