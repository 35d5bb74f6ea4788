//! The GPU context: a headless wgpu instance, adapter, device and queue,
//! created once and shared, and the compute pipelines compiled so far.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

/// What can go wrong on the GPU. Nothing here panics on a missing or
/// unsuitable adapter: it says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GpuError {
    /// No adapter (GPU or software driver) was found.
    NoAdapter(String),
    /// The adapter refused to give a device.
    Device(String),
    /// A buffer larger than the device allows.
    TooLarge {
        what: String,
        bytes: u64,
        limit: u64,
    },
    /// Inputs of different lengths where they must agree.
    Length(String),
    /// wgpu reported an error (a shader that does not compile, a failed
    /// read-back).
    Wgpu(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::NoAdapter(why) => write!(
                f,
                "no GPU adapter ({why}); on Linux without a GPU, install a software \
                 Vulkan driver (Debian/Ubuntu: apt-get install mesa-vulkan-drivers libvulkan1) \
                 and set WGPU_BACKEND=vulkan"
            ),
            GpuError::Device(why) => write!(f, "the GPU adapter gave no device: {why}"),
            GpuError::TooLarge { what, bytes, limit } => write!(
                f,
                "{what} needs {bytes} bytes, more than this adapter allows ({limit} bytes); \
                 split the work into smaller pieces"
            ),
            GpuError::Length(why) => write!(f, "{why}"),
            GpuError::Wgpu(why) => write!(f, "wgpu: {why}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// A GPU: device, queue, and the pipelines compiled so far (each shader is
/// compiled once per context).
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    /// Map kernels' pipelines by kernel (its pieces' address), mode and
    /// shared arguments: no WGSL text is built for a kernel run before.
    map_pipelines: Mutex<HashMap<MapKey, Arc<wgpu::ComputePipeline>>>,
}

type MapKey = (usize, usize, crate::Mode, Vec<bool>);

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter())
            .finish()
    }
}

impl Gpu {
    /// A new context on the best adapter wgpu finds. `WGPU_BACKEND`
    /// (`vulkan`, `metal`, `dx12`) and `WGPU_ADAPTER_NAME` choose, as in
    /// wgpu; the device gets the adapter's own limits (large buffers).
    pub fn new() -> Result<Gpu, GpuError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(async {
            match wgpu::util::initialize_adapter_from_env(&instance, None).await {
                Ok(adapter) => Ok(adapter),
                Err(_) => {
                    instance
                        .request_adapter(&wgpu::RequestAdapterOptions {
                            power_preference: wgpu::PowerPreference::HighPerformance,
                            ..Default::default()
                        })
                        .await
                }
            }
        })
        .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("autodiff"),
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device(e.to_string()))?;
        Ok(Gpu {
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
            map_pipelines: Mutex::new(HashMap::new()),
        })
    }

    /// The context of this process, created on first use.
    pub fn shared() -> Result<&'static Gpu, GpuError> {
        static SHARED: OnceLock<Result<Gpu, GpuError>> = OnceLock::new();
        SHARED.get_or_init(Gpu::new).as_ref().map_err(Clone::clone)
    }

    /// The adapter: name, driver, backend and kind, as wgpu reports them.
    pub fn adapter(&self) -> String {
        let i = &self.info;
        let driver = match (i.driver.is_empty(), i.driver_info.is_empty()) {
            (false, false) => format!(", {} {}", i.driver, i.driver_info),
            (false, true) => format!(", {}", i.driver),
            _ => String::new(),
        };
        format!("{}{driver} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }

    /// Whether the adapter is a software driver (lavapipe, WARP, ...).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The limits of the device.
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// Waits until the GPU has finished everything submitted.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| GpuError::Wgpu(e.to_string()))
    }

    /// The pipeline of `entry` in the WGSL `source`, compiled on first use;
    /// a shader that does not compile is an error, not a panic.
    pub(crate) fn pipeline(
        &self,
        source: &str,
        entry: &str,
    ) -> Result<Arc<wgpu::ComputePipeline>, GpuError> {
        let key = format!("{entry}\n{source}");
        if let Some(p) = self.lock().get(&key) {
            return Ok(p.clone());
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Wgpu(format!(
                "the kernel `{entry}` does not compile: {e}"
            )));
        }
        let pipeline = Arc::new(pipeline);
        self.lock().insert(key, pipeline.clone());
        Ok(pipeline)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<wgpu::ComputePipeline>>> {
        // A panic while holding the lock leaves a valid map.
        self.pipelines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pipeline of a map kernel.
    pub(crate) fn map_pipeline(
        &self,
        kernel: &crate::Kernel,
        mode: crate::Mode,
        shared: &[bool],
    ) -> Result<Arc<wgpu::ComputePipeline>, GpuError> {
        // Two constants with the same pieces are the same kernel; one
        // kernel may have several addresses, which only costs a lookup.
        let key = (
            kernel.pieces.as_ptr() as usize,
            kernel.name.as_ptr() as usize,
            mode,
            shared.to_vec(),
        );
        let cached = self
            .map_pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some(p) = cached {
            return Ok(p);
        }
        let p = self.pipeline(&kernel.module(mode, shared), "main")?;
        self.map_pipelines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, p.clone());
        Ok(p)
    }

    /// Runs the entry point `entry` of a WGSL module of the caller's over
    /// `workgroups` workgroups (spread over `x` and `y` of
    /// `@builtin(workgroup_id)`: the linear index is `id.x + id.y *
    /// num_workgroups.x`), with `buffers` bound at `@group(0)` in order:
    /// a hand-written kernel next to the generated ones.
    pub fn run_wgsl(
        &self,
        source: &str,
        entry: &str,
        buffers: &[&crate::GpuBuffer],
        workgroups: u64,
    ) -> Result<(), GpuError> {
        let pipeline = self.pipeline(source, entry)?;
        let raw: Vec<&wgpu::Buffer> = buffers.iter().map(|b| &b.buffer).collect();
        self.dispatch_linear(&pipeline, &raw, workgroups)
    }

    /// Runs `pipeline` over a `(x, y)` grid of workgroups with `buffers`
    /// bound in order at group 0.
    pub(crate) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        (x, y): (u32, u32),
    ) -> Result<(), GpuError> {
        let layout = pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(x, y, 1);
        }
        self.queue.submit([encoder.finish()]);
        Ok(())
    }
}

/// Runs `pipeline` over `groups` workgroups, spread over two dimensions.
impl Gpu {
    pub(crate) fn dispatch_linear(
        &self,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        groups: u64,
    ) -> Result<(), GpuError> {
        let grid = grid(
            groups,
            self.device.limits().max_compute_workgroups_per_dimension,
        )?;
        self.dispatch(pipeline, buffers, grid)
    }
}

/// `groups` workgroups as an `x * y` grid (`x * y >= groups`): the kernels
/// compute their linear index as `id.x + id.y * x`.
pub(crate) fn grid(groups: u64, max: u32) -> Result<(u32, u32), GpuError> {
    let groups = groups.max(1);
    let x = groups.min(u64::from(max));
    let y = groups.div_ceil(x);
    if y > u64::from(max) {
        return Err(GpuError::TooLarge {
            what: format!("a dispatch of {groups} workgroups"),
            bytes: groups * 256 * 4,
            limit: u64::from(max) * u64::from(max) * 256 * 4,
        });
    }
    Ok((x as u32, y as u32))
}
