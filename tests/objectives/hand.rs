//! ADBench's hand tracking objective as published (`hand.h` of ADBench):
//! 26 pose parameters (global rotation as an angle-axis, translation, and
//! 20 finger angles: two at each finger's first joint, one at the next
//! two) mapped onto the Euler angles of 22 bones; the posed bone transforms
//! composed along the skeleton, linear blend skinning of the model's
//! vertices, the global transform, and, for the "complicated" variant, each
//! observed point compared with a point of a triangle given by its two
//! barycentric coordinates `us` (2 more parameters per point).
//!
//! Matrices are row-major `[f64]` runs: 4x4 bone transforms, 3 x n vertex
//! positions by vertex.

use super::*;

/// The 3 x (bones + 3) pose parameters, by column: the global rotation,
/// the scale (ones), the translation, then the Euler angles of each bone.
#[differentiable]
pub fn to_pose_params(theta: &[f64], n_bones: usize, pose: &mut [f64]) {
    for i in 0..3 * (n_bones + 3) {
        pose[i] = 0.0;
    }
    for i in 0..3 {
        pose[i] = theta[i];
        pose[3 + i] = 1.0;
        pose[6 + i] = theta[i + 3];
    }
    let mut i_theta = 6;
    let mut i_pose = 5;
    for _finger in 0..5 {
        for i in 2..5 {
            pose[3 * i_pose] = theta[i_theta];
            i_theta += 1;
            if i == 2 {
                pose[3 * i_pose + 1] = theta[i_theta];
                i_theta += 1;
            }
            i_pose += 1;
        }
        i_pose += 1;
    }
}

/// The rotation of an angle-axis vector; the identity below 1e-4, as
/// ADBench writes it.
#[differentiable]
pub fn angle_axis_to_rotation_matrix(angle_axis: [f64; 3]) -> [f64; 9] {
    let norm = (angle_axis[0] * angle_axis[0]
        + angle_axis[1] * angle_axis[1]
        + angle_axis[2] * angle_axis[2])
        .sqrt();
    if norm < 0.0001 {
        return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    }
    let x = angle_axis[0] / norm;
    let y = angle_axis[1] / norm;
    let z = angle_axis[2] / norm;
    let s = norm.sin();
    let c = norm.cos();
    [
        x * x + (1.0 - x * x) * c,
        x * y * (1.0 - c) - z * s,
        x * z * (1.0 - c) + y * s,
        x * y * (1.0 - c) + z * s,
        y * y + (1.0 - y * y) * c,
        y * z * (1.0 - c) - x * s,
        x * z * (1.0 - c) - y * s,
        z * y * (1.0 - c) + x * s,
        z * z + (1.0 - z * z) * c,
    ]
}

/// The skinned positions of every model vertex (3 per vertex), after the
/// global transform.
#[differentiable(wrt(pose))]
pub fn skinned_positions(
    pose: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    inverse_base_absolutes: &[f64],
    base_positions: &[f64],
    weights: &[f64],
    positions: &mut [f64],
) {
    let n_bones = parents.len();
    let n_verts = base_positions.len() / 4;
    // Posed relatives: the base relative times the bone's rotation.
    let mut relatives = vec![0.0; 16 * n_bones];
    for b in 0..n_bones {
        let c = 3 * (b + 3);
        let r = euler_angles_to_rotation_matrix([pose[c], pose[c + 1], pose[c + 2]]);
        for i in 0..4 {
            for j in 0..3 {
                let mut s = 0.0;
                for k in 0..3 {
                    s += base_relatives[16 * b + 4 * i + k] * r[3 * k + j];
                }
                relatives[16 * b + 4 * i + j] = s;
            }
            relatives[16 * b + 4 * i + 3] = base_relatives[16 * b + 4 * i + 3];
        }
    }
    // Absolutes along the skeleton, then the bone transforms.
    let mut absolutes = vec![0.0; 16 * n_bones];
    let mut transforms = vec![0.0; 16 * n_bones];
    for b in 0..n_bones {
        if parents[b] < 0 {
            for i in 0..16 {
                absolutes[16 * b + i] = relatives[16 * b + i];
            }
        } else {
            let p = parents[b] as usize;
            for i in 0..4 {
                for j in 0..4 {
                    let mut s = 0.0;
                    for k in 0..4 {
                        s += absolutes[16 * p + 4 * i + k] * relatives[16 * b + 4 * k + j];
                    }
                    absolutes[16 * b + 4 * i + j] = s;
                }
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                let mut s = 0.0;
                for k in 0..4 {
                    s += absolutes[16 * b + 4 * i + k] * inverse_base_absolutes[16 * b + 4 * k + j];
                }
                transforms[16 * b + 4 * i + j] = s;
            }
        }
    }
    // Linear blend skinning.
    let mut skinned = vec![0.0; 3 * n_verts];
    for b in 0..n_bones {
        for v in 0..n_verts {
            let w = weights[b * n_verts + v];
            for i in 0..3 {
                let mut s = 0.0;
                for k in 0..4 {
                    s += transforms[16 * b + 4 * i + k] * base_positions[4 * v + k];
                }
                skinned[3 * v + i] += w * s;
            }
        }
    }
    // The global transform: rotation, scale, translation.
    let r = angle_axis_to_rotation_matrix([pose[0], pose[1], pose[2]]);
    for v in 0..n_verts {
        for i in 0..3 {
            let mut s = pose[6 + i];
            for k in 0..3 {
                s += r[3 * i + k] * pose[3 + k] * skinned[3 * v + k];
            }
            positions[3 * v + i] = s;
        }
    }
}

/// The posed model vertices (3 per vertex) for the parameters `theta`.
#[differentiable(wrt(theta))]
pub fn hand_positions(
    theta: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    inverse_base_absolutes: &[f64],
    base_positions: &[f64],
    weights: &[f64],
) -> Vec<f64> {
    let n_bones = parents.len();
    let mut pose = vec![0.0; 3 * (n_bones + 3)];
    to_pose_params(theta, n_bones, &mut pose);
    let mut positions = vec![0.0; base_positions.len() / 4 * 3];
    skinned_positions(
        &pose,
        parents,
        base_relatives,
        inverse_base_absolutes,
        base_positions,
        weights,
        &mut positions,
    );
    positions
}

/// The "simple" variant: each point against one model vertex.
#[differentiable(wrt(theta))]
pub fn hand_objective(
    theta: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    inverse_base_absolutes: &[f64],
    base_positions: &[f64],
    weights: &[f64],
    correspondences: &[usize],
    points: &[f64],
    err: &mut [f64],
) {
    let positions = hand_positions(
        theta,
        parents,
        base_relatives,
        inverse_base_absolutes,
        base_positions,
        weights,
    );
    for i in 0..correspondences.len() {
        let v = correspondences[i];
        for j in 0..3 {
            err[3 * i + j] = points[3 * i + j] - positions[3 * v + j];
        }
    }
}

/// The "complicated" variant: each point against a point of a triangle,
/// `u0 a + u1 b + (1 - u0 - u1) c`, its barycentric coordinates `us`
/// parameters too.
#[differentiable(wrt(theta, us))]
pub fn hand_objective_complicated(
    theta: &[f64],
    us: &[f64],
    parents: &[i64],
    base_relatives: &[f64],
    inverse_base_absolutes: &[f64],
    base_positions: &[f64],
    weights: &[f64],
    triangles: &[usize],
    correspondences: &[usize],
    points: &[f64],
    err: &mut [f64],
) {
    let positions = hand_positions(
        theta,
        parents,
        base_relatives,
        inverse_base_absolutes,
        base_positions,
        weights,
    );
    for i in 0..correspondences.len() {
        let t = correspondences[i];
        let (a, b, c) = (triangles[3 * t], triangles[3 * t + 1], triangles[3 * t + 2]);
        let (u0, u1) = (us[2 * i], us[2 * i + 1]);
        for j in 0..3 {
            let p = u0 * positions[3 * a + j]
                + u1 * positions[3 * b + j]
                + (1.0 - u0 - u1) * positions[3 * c + j];
            err[3 * i + j] = points[3 * i + j] - p;
        }
    }
}

/// A hand model shaped as ADBench's: 22 bones (a root, a wrist, five
/// fingers of four), 544 vertices, 1084 triangles, each vertex weighted by
/// three bones; random transforms and positions.
pub struct HandModel {
    pub parents: Vec<i64>,
    pub base_relatives: Vec<f64>,
    pub inverse_base_absolutes: Vec<f64>,
    pub base_positions: Vec<f64>,
    pub weights: Vec<f64>,
    pub triangles: Vec<usize>,
}

/// The objectives and their derivatives on this model, for the tests and
/// benchmarks (the functions keep ADBench's long argument lists).
impl HandModel {
    /// `hand_objective`: each point against the vertex `vertices[i]`.
    pub fn simple(&self, theta: &[f64], vertices: &[usize], points: &[f64], err: &mut [f64]) {
        hand_objective(
            theta,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            vertices,
            points,
            err,
        )
    }

    /// `hand_objective_jvp_lanes`: `K` directions of `theta` at once.
    pub fn simple_lanes<const K: usize>(
        &self,
        theta: &[f64],
        vertices: &[usize],
        points: &[f64],
        err: &mut [f64],
        dtheta: &[Lanes<f64, K>],
        derr: &mut [Lanes<f64, K>],
    ) {
        hand_objective_jvp_lanes(
            theta,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            vertices,
            points,
            err,
            dtheta,
            derr,
        )
    }

    /// `hand_objective_complicated`: each point against a point of the
    /// triangle `corr[i]`.
    pub fn complicated(
        &self,
        theta: &[f64],
        us: &[f64],
        corr: &[usize],
        points: &[f64],
        err: &mut [f64],
    ) {
        hand_objective_complicated(
            theta,
            us,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            &self.triangles,
            corr,
            points,
            err,
        )
    }

    /// `hand_objective_complicated_jvp_lanes`.
    pub fn complicated_lanes<const K: usize>(
        &self,
        (theta, us): (&[f64], &[f64]),
        corr: &[usize],
        points: &[f64],
        err: &mut [f64],
        (dtheta, dus): (&[Lanes<f64, K>], &[Lanes<f64, K>]),
        derr: &mut [Lanes<f64, K>],
    ) {
        hand_objective_complicated_jvp_lanes(
            theta,
            us,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            &self.triangles,
            corr,
            points,
            err,
            dtheta,
            dus,
            derr,
        )
    }

    /// `hand_objective_complicated_jvp`: one direction.
    pub fn complicated_jvp(
        &self,
        (theta, us): (&[f64], &[f64]),
        corr: &[usize],
        points: &[f64],
        err: &mut [f64],
        (dtheta, dus): (&[f64], &[f64]),
        derr: &mut [f64],
    ) {
        hand_objective_complicated_jvp(
            theta,
            us,
            &self.parents,
            &self.base_relatives,
            &self.inverse_base_absolutes,
            &self.base_positions,
            &self.weights,
            &self.triangles,
            corr,
            points,
            err,
            dtheta,
            dus,
            derr,
        )
    }

    pub fn new(rng: &mut Lcg) -> Self {
        let n_bones = 22;
        let n_verts = 544;
        let mut parents = vec![-1, 0];
        for _finger in 0..5 {
            let first = parents.len() as i64;
            parents.extend([1, first, first + 1, first + 2]);
        }
        let transform = |rng: &mut Lcg| -> Vec<f64> {
            let mut m = rng.vec(16, -1.0, 1.0);
            m[12..16].copy_from_slice(&[0.0, 0.0, 0.0, 1.0]);
            m
        };
        let base_relatives = (0..n_bones).flat_map(|_| transform(rng)).collect();
        let inverse_base_absolutes = (0..n_bones).flat_map(|_| transform(rng)).collect();
        let base_positions = (0..n_verts)
            .flat_map(|_| {
                let p = rng.vec(3, -1.0, 1.0);
                [p[0], p[1], p[2], 1.0]
            })
            .collect();
        let mut weights = vec![0.0; n_bones * n_verts];
        for v in 0..n_verts {
            for _ in 0..3 {
                let b = (rng.uniform(0.0, n_bones as f64) as usize).min(n_bones - 1);
                weights[b * n_verts + v] += rng.uniform(0.1, 1.0);
            }
        }
        let triangles = (0..3 * 1084)
            .map(|_| (rng.uniform(0.0, n_verts as f64) as usize).min(n_verts - 1))
            .collect();
        HandModel {
            parents,
            base_relatives,
            inverse_base_absolutes,
            base_positions,
            weights,
            triangles,
        }
    }

    /// `n` points with their triangles and barycentric coordinates.
    pub fn points(&self, rng: &mut Lcg, n: usize) -> (Vec<usize>, Vec<f64>, Vec<f64>) {
        let correspondences = (0..n)
            .map(|_| (rng.uniform(0.0, 1084.0) as usize).min(1083))
            .collect();
        let us = (0..n)
            .flat_map(|_| {
                let u0 = rng.uniform(0.0, 0.5);
                [u0, rng.uniform(0.0, 1.0 - u0)]
            })
            .collect();
        (correspondences, rng.vec(3 * n, -1.0, 1.0), us)
    }
}
