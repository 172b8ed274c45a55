# syntax=docker/dockerfile:1
# Build from the repository root:
#   docker build -f samples/deploy/docker/training-worker.Dockerfile -t registry.example.com/ctrfallback/training-worker:0.1.0 .

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /repo
# Build settings first (SDK pin, package sources, central versions), then the sources the worker needs.
COPY global.json nuget.config .editorconfig Directory.Build.props Directory.Packages.props ./
COPY src/ src/
COPY samples/CtrFallback.TrainingWorker/ samples/CtrFallback.TrainingWorker/
RUN dotnet restore samples/CtrFallback.TrainingWorker/CtrFallback.TrainingWorker.csproj
RUN dotnet publish samples/CtrFallback.TrainingWorker/CtrFallback.TrainingWorker.csproj \
      --configuration Release --no-restore --output /app /p:UseAppHost=false

# aspnet rather than runtime: a superset, so the worker may use ASP.NET pieces (health, metrics) unchanged.
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# LightGBM's native library needs OpenMP (libgomp), which the base image lacks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# The base image's non-root `app` user (UID 1654); the CronJob runs as the same UID.
USER $APP_UID
ENTRYPOINT ["dotnet", "CtrFallback.TrainingWorker.dll"]
