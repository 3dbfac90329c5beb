import { UserDirectoryService } from "../../gen/kneutral/directory/v1/user_directory_pb.ts";
import { ChannelService } from "../../gen/oncall/v1/channels_pb.ts";
import { createChannelService } from "../services/channel-service.ts";
import { createUserDirectoryService } from "../services/user-directory-service.ts";
import type { ServiceGroup } from "./group.ts";

export const contactsGroup: ServiceGroup = {
  name: "contacts",
  register(router, ctx) {
    router.service(UserDirectoryService, createUserDirectoryService(ctx));
    router.service(ChannelService, createChannelService(ctx));
  },
};
