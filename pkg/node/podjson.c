/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <time.h>

#include "api/quantity.h"
#include "node/podjson.h"
#include "qos/qos.h"

char *podjson_time(int64_t usec)
{
        time_t t = (time_t)(usec / 1000000);
        struct tm tm;
        char buf[32];
        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return NULL;
        return strdup(buf);
}

static json_t *time_json(int64_t usec)
{
        char *s = usec > 0 ? podjson_time(usec) : NULL;
        json_t *j = s ? json_string(s) : json_null();
        free(s);
        return j;
}

/* Adds key: string when the string is set. */
static void set_str(json_t *o, const char *key, const char *s)
{
        if (s)
                json_object_set_new(o, key, json_string(s));
}

static json_t *strv_json(char *const *l)
{
        json_t *a = json_array();
        for (char *const *s = l; s && *s; s++)
                json_array_append_new(a, json_string(*s));
        return a;
}

static json_t *kv_json(const struct kv *l, size_t n)
{
        json_t *o = json_object();
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, l[i].key, json_string(l[i].value ? l[i].value : ""));
        return o;
}

static json_t *resource_list_json(const struct resource_list *l)
{
        json_t *o = json_object();
        for (size_t i = 0; i < l->n; i++) {
                char *s = quantity_to_string(&l->items[i].value);
                json_object_set_new(o, l->items[i].name,
                                    json_string(s                  ? s
                                                : l->items[i].text ? l->items[i].text
                                                                   : ""));
                free(s);
        }
        return o;
}

static json_t *resources_json(const struct resources *r)
{
        json_t *o = json_object();
        if (r->limits.n > 0)
                json_object_set_new(o, "limits", resource_list_json(&r->limits));
        if (r->requests.n > 0)
                json_object_set_new(o, "requests", resource_list_json(&r->requests));
        return o;
}

static json_t *env_json(const struct container *c)
{
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_env; i++) {
                json_t *e = json_pack("{s:s}", "name", c->env[i].name);
                if (c->env[i].has_value)
                        set_str(e, "value", c->env[i].value);
                json_array_append_new(a, e);
        }
        return a;
}

static json_t *ports_json(const struct container *c)
{
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_ports; i++) {
                const struct container_port *p = &c->ports[i];
                json_t *o = json_pack("{s:I, s:s}", "containerPort", (json_int_t)p->container_port,
                                      "protocol", p->protocol ? p->protocol : "TCP");
                set_str(o, "name", p->name);
                if (p->host_port > 0)
                        json_object_set_new(o, "hostPort", json_integer(p->host_port));
                json_array_append_new(a, o);
        }
        return a;
}

static json_t *mounts_json(const struct container *c)
{
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_volume_mounts; i++) {
                const struct volume_mount *m = &c->volume_mounts[i];
                json_t *o = json_pack("{s:s, s:s}", "name", m->name, "mountPath", m->mount_path);
                if (m->read_only)
                        json_object_set_new(o, "readOnly", json_true());
                set_str(o, "subPath", m->sub_path);
                json_array_append_new(a, o);
        }
        return a;
}

static json_t *container_json(const struct container *c)
{
        json_t *o = json_pack("{s:s, s:s?, s:o}", "name", c->name, "image", c->image, "resources",
                              resources_json(&c->resources));
        if (c->command)
                json_object_set_new(o, "command", strv_json(c->command));
        if (c->args)
                json_object_set_new(o, "args", strv_json(c->args));
        set_str(o, "workingDir", c->working_dir);
        if (c->n_env > 0)
                json_object_set_new(o, "env", env_json(c));
        if (c->n_ports > 0)
                json_object_set_new(o, "ports", ports_json(c));
        if (c->n_volume_mounts > 0)
                json_object_set_new(o, "volumeMounts", mounts_json(c));
        if (c->image_pull_policy != PULL_POLICY_UNSET)
                set_str(o, "imagePullPolicy", pull_policy_to_string(c->image_pull_policy));
        if (c->restart_policy != RESTART_POLICY_UNSET)
                set_str(o, "restartPolicy", restart_policy_to_string(c->restart_policy));
        set_str(o, "terminationMessagePath", c->termination_message_path);
        return o;
}

static json_t *containers_json(const struct container *l, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, container_json(&l[i]));
        return a;
}

static json_t *volumes_json(const struct pod_spec *s)
{
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_volumes; i++) {
                const struct volume *v = &s->volumes[i];
                json_t *src = json_object();
                if (v->kind == VOLUME_HOST_PATH) {
                        set_str(src, "path", v->host_path);
                        if (v->host_path_type && *v->host_path_type)
                                set_str(src, "type", v->host_path_type);
                } else if (v->kind == VOLUME_EMPTY_DIR && v->medium && *v->medium)
                        set_str(src, "medium", v->medium);
                json_t *o = json_pack("{s:s}", "name", v->name);
                json_object_set_new(o, v->kind_name ? v->kind_name : "unknown", src);
                json_array_append_new(a, o);
        }
        return a;
}

static json_t *spec_json(const struct pod_spec *s)
{
        json_t *o = json_object();
        if (s->n_init_containers > 0)
                json_object_set_new(o, "initContainers",
                                    containers_json(s->init_containers, s->n_init_containers));
        json_object_set_new(o, "containers", containers_json(s->containers, s->n_containers));
        if (s->n_volumes > 0)
                json_object_set_new(o, "volumes", volumes_json(s));
        if (s->resources.present)
                json_object_set_new(o, "resources", resources_json(&s->resources));
        set_str(o, "restartPolicy",
                restart_policy_to_string(s->restart_policy != RESTART_POLICY_UNSET
                                                 ? s->restart_policy
                                                 : RESTART_POLICY_ALWAYS));
        json_object_set_new(o, "terminationGracePeriodSeconds",
                            json_integer(s->has_termination_grace_period_seconds
                                                 ? s->termination_grace_period_seconds
                                                 : 30));
        if (s->has_active_deadline_seconds)
                json_object_set_new(o, "activeDeadlineSeconds",
                                    json_integer(s->active_deadline_seconds));
        set_str(o, "dnsPolicy", s->dns_policy);
        set_str(o, "nodeName", s->node_name);
        set_str(o, "hostname", s->hostname);
        set_str(o, "subdomain", s->subdomain);
        if (s->host_network)
                json_object_set_new(o, "hostNetwork", json_true());
        if (s->host_pid)
                json_object_set_new(o, "hostPID", json_true());
        if (s->host_ipc)
                json_object_set_new(o, "hostIPC", json_true());
        if (s->share_process_namespace)
                json_object_set_new(o, "shareProcessNamespace", json_true());
        set_str(o, "priorityClassName", s->priority_class_name);
        if (s->has_priority)
                json_object_set_new(o, "priority", json_integer(s->priority));
        /* what the kubelet adds to every file pod */
        json_object_set_new(o, "tolerations",
                            json_pack("[{s:s, s:s}]", "operator", "Exists", "effect", "NoExecute"));
        return o;
}

static json_t *metadata_json(const struct podjson_input *in)
{
        const struct pod *p = in->pod;
        json_t *ann = kv_json(p->metadata.annotations, p->metadata.n_annotations);
        set_str(ann, "kubernetes.io/config.hash",
                p->config_hash ? p->config_hash : p->metadata.uid);
        set_str(ann, "kubernetes.io/config.source", in->source_kind);
        json_object_set_new(ann, "kubernetes.io/config.seen", time_json(in->created_at));
        if (in->plan)
                set_str(ann, ANNOTATION_CGROUP_PATH,
                        in->driver == CGROUP_DRIVER_SYSTEMD ? in->plan->systemd
                                                            : in->plan->cgroupfs);
        json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "name", p->metadata.name, "namespace",
                              p->metadata.namespace, "uid", p->metadata.uid, "creationTimestamp",
                              time_json(in->created_at));
        if (in->deleted_at > 0)
                json_object_set_new(o, "deletionTimestamp", time_json(in->deleted_at));
        if (p->metadata.n_labels > 0)
                json_object_set_new(o, "labels", kv_json(p->metadata.labels, p->metadata.n_labels));
        json_object_set_new(o, "annotations", ann);
        return o;
}

static json_t *state_json(const struct container_state *s)
{
        json_t *o = json_object();
        switch (s->kind) {
        case CONTAINER_STATE_WAITING: {
                json_t *w = json_object();
                set_str(w, "reason", s->reason);
                set_str(w, "message", s->message);
                json_object_set_new(o, "waiting", w);
                break;
        }
        case CONTAINER_STATE_RUNNING:
                json_object_set_new(o, "running",
                                    json_pack("{s:o}", "startedAt", time_json(s->started_at)));
                break;
        case CONTAINER_STATE_TERMINATED: {
                json_t *t = json_pack("{s:i, s:o, s:o}", "exitCode", s->exit_code, "startedAt",
                                      time_json(s->started_at), "finishedAt",
                                      time_json(s->finished_at));
                if (s->signal)
                        json_object_set_new(t, "signal", json_integer(s->signal));
                set_str(t, "reason", s->reason);
                set_str(t, "message", s->message);
                set_str(t, "containerID", s->container_id);
                json_object_set_new(o, "terminated", t);
                break;
        }
        default:
                break;
        }
        return o;
}

static json_t *container_status_json(const struct container_status *s)
{
        json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:I, s:s, s:s, s:b}", "name", s->name, "state",
                              state_json(&s->state), "lastState", state_json(&s->last_state),
                              "ready", s->ready, "restartCount", (json_int_t)s->restart_count,
                              "image", s->image ? s->image : "", "imageID",
                              s->image_id ? s->image_id : "", "started", s->started);
        set_str(o, "containerID", s->container_id);
        return o;
}

static json_t *statuses_json(const struct container_status *l, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, container_status_json(&l[i]));
        return a;
}

static json_t *conditions_json(const struct podjson_input *in)
{
        json_t *a = json_array();
        for (size_t i = 0; i < _POD_CONDITION_MAX; i++) {
                const struct pod_condition *c = &in->status->conditions[i];
                json_t *o = json_pack("{s:s, s:s, s:n, s:o}", "type",
                                      pod_condition_type_to_string(c->type), "status",
                                      condition_status_to_string(c->status), "lastProbeTime",
                                      "lastTransitionTime",
                                      time_json(in->condition_times ? in->condition_times[i] : 0));
                set_str(o, "reason", c->reason);
                set_str(o, "message", c->message);
                json_array_append_new(a, o);
        }
        return a;
}

static json_t *ips_json(const char *ip)
{
        return ip ? json_pack("[{s:s}]", "ip", ip) : json_array();
}

static json_t *status_json(const struct podjson_input *in)
{
        const struct pod_status *s = in->status;
        json_t *o = json_object();
        set_str(o, "qosClass", qos_class_to_string(qos_pod_class(in->pod)));
        if (!s) {
                set_str(o, "phase", "Pending");
                return o;
        }
        set_str(o, "phase", pod_phase_to_string(s->phase));
        json_object_set_new(o, "conditions", conditions_json(in));
        set_str(o, "reason", s->reason);
        set_str(o, "message", s->message);
        set_str(o, "hostIP", s->host_ip);
        json_object_set_new(o, "hostIPs", ips_json(s->host_ip));
        set_str(o, "podIP", s->pod_ip);
        json_object_set_new(o, "podIPs", ips_json(s->pod_ip));
        json_object_set_new(o, "startTime", time_json(s->start_time));
        if (in->pod->spec.n_init_containers > 0)
                json_object_set_new(o, "initContainerStatuses",
                                    statuses_json(s->init_statuses, s->n_init_statuses));
        json_object_set_new(o, "containerStatuses", statuses_json(s->statuses, s->n_statuses));
        return o;
}

json_t *podjson_pod(const struct podjson_input *in)
{
        return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Pod", "apiVersion", "v1", "metadata",
                         metadata_json(in), "spec", spec_json(&in->pod->spec), "status",
                         status_json(in));
}

json_t *podjson_list(json_t *items)
{
        return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "PodList", "apiVersion", "v1", "metadata",
                         "items", items);
}
