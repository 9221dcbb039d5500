//! `image-pinned`: every image names a version tag or a digest. An image
//! reference without a tag means `latest`
//! (<https://kubernetes.io/docs/concepts/containers/images/#image-names>), and a
//! mutable tag lets two syncs of the same commit run different code.

use super::{Context, IMAGE_PINNED};
use crate::kube::{self, PodTemplate};

impl<'b> Context<'b> {
    pub(super) fn image_pinned(&mut self, template: &PodTemplate<'b>) {
        let object = template.object;
        for (path, container, _) in template.containers() {
            let name = kube::get_str(container, &["name"]).unwrap_or("?").to_string();
            match kube::get_str(container, &["image"]) {
                None => self.report(
                    object,
                    IMAGE_PINNED,
                    path.key("image"),
                    format!("container `{name}` has no image"),
                    "set `image` to `<name>:<version>` or `<name>@sha256:<digest>`",
                ),
                Some(image) => {
                    if let Some(problem) = image_problem(image) {
                        self.report(
                            object,
                            IMAGE_PINNED,
                            path.key("image"),
                            format!("image `{image}` {problem}"),
                            "pin a version tag or a digest (`<name>@sha256:<digest>`) so every sync runs the same image",
                        );
                    }
                }
            }
        }
    }
}

/// Why an image reference is not pinned, if it is not.
fn image_problem(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag, which means `latest`"),
        Some((_, "")) => Some("has an empty tag"),
        Some((_, "latest")) => Some("uses the mutable tag `latest`"),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_need_a_tag_or_digest() {
        assert_eq!(image_problem("nginx"), Some("has no tag, which means `latest`"));
        assert_eq!(image_problem("nginx:latest"), Some("uses the mutable tag `latest`"));
        assert_eq!(image_problem("registry:5000/team/app"), Some("has no tag, which means `latest`"));
        assert_eq!(image_problem("registry:5000/team/app:1.2"), None);
        assert_eq!(image_problem("nginx@sha256:abc"), None);
    }

    #[test]
    fn an_untagged_image_is_reported_at_the_container_image() {
        use crate::validate::policy::fixture::{deployment, Cluster, GOOD_CONTAINER};
        let container = GOOD_CONTAINER.replace("nginx:1.27", "nginx");
        let cluster = Cluster::new("    kind: Deployment\n    image: nginx:1.27\n", &deployment("", &container));
        assert_eq!(
            cluster.findings(IMAGE_PINNED),
            ["spec.template.spec.containers[0].image: image `nginx` has no tag, which means `latest`"]
        );
        let pinned = Cluster::new("    kind: Deployment\n    image: nginx:1.27\n", &deployment("", GOOD_CONTAINER));
        assert!(pinned.findings(IMAGE_PINNED).is_empty());
    }
}
